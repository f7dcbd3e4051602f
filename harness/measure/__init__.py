"""One cell: its pipeline (prepare, first call, check, grade, time), the timing loop, the
function's own time, memory, the step sweep and the workloads' measures.
"""
