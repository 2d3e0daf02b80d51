"""Init Lab's Streamlit layer: widgets, cache wrappers, data frames and charts.

Everything here draws or stores; the numbers themselves come from `core`.
"""
