"""The vocabulary every layer speaks: cases, methods, quantities and their entries, array
namespaces, sparsity, the registries and the presets.  Imports nothing above it (host,
store and stats below it only).
"""
