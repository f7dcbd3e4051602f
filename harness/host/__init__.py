"""The process and the machine, knowing no cell: output capture, time limits and stop signals,
threads, the environment, and what a cell must not leave behind in its worker.
"""
