"""Stores: the content-addressed object store and the package store, with staging and quarantine.

Locations are keys relative to the workspace, so that a workspace can be moved and a store on
object storage can later stand beside the local one. Stores never write the catalog.
"""
