"""Work over many rows of the book at once: the nightly job's batches and the bulk grant
writer. Each service calls the models' rules and verbs; none restates a rule."""
