"""Many cells: the plan, shards, the dry run, the loop, the worker pool and its workers, the
journal and the progress display.
"""
