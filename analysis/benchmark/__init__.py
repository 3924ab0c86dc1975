"""The embedded benchmark: a parametric face renderer, the generator of its two domains and
its manipulation methods, and measures of where a manipulation changes its source."""
