"""Signing: agency keys and certificates, detached CMS signatures over the tag manifest, validation.

``keys`` stores and loads encrypted private keys, ``pki`` makes and imports certificates and
binds them to an agency code, ``cms`` writes signatures, ``validate`` checks them. Nothing here
reads the environment or prompts: passphrases arrive as bytes or through a :class:`Prompter`.
"""

from __future__ import annotations
