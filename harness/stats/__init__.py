"""Pure numbers: the median's order-statistic interval (noise) and change points (steps).
"""
