"""The Pareto front of a sweep: trials no other trial beats on both accuracy and training time."""

from __future__ import annotations

import pandas as pd


def pareto_optimal(higher_is_better: pd.Series, lower_is_better: pd.Series) -> pd.Series:
    """True for each row that no other row matches or beats on both, and beats on at least one."""
    points = pd.DataFrame({"up": higher_is_better, "down": lower_is_better}).astype(float)
    optimal = pd.Series(False, index=points.index)
    complete = points.dropna()
    for index, point in complete.iterrows():
        others = complete.drop(index)
        dominated = (
            (others["up"] >= point["up"])
            & (others["down"] <= point["down"])
            & ((others["up"] > point["up"]) | (others["down"] < point["down"]))
        )
        optimal[index] = not dominated.any()
    return optimal
