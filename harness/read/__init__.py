"""Results files in, tables and pages out, never a backend nor anything that measures:
compare, merge, history, analysis, findings and the HTML report.
"""
