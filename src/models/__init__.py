"""Model builders. Each takes plain arguments plus the task's `InputSpec` and returns an uncompiled `keras.Model`."""
