"""Archiving flows over the catalog, the stores and the package format.

:mod:`~govarc.archiving.pending` packages and signs what the catalog holds unpackaged or unsigned;
:mod:`~govarc.archiving.rebuild` rebuilds the catalog from the packages of the store.
"""
