"""`hydra/launcher=ray`: trials run as Ray tasks in long-lived worker processes, on one machine or several."""
