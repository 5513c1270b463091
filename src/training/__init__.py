"""Training: Keras callbacks for timing and divergence, and the fit/evaluate recipe."""
