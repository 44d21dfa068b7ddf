"""The optionee self-service portal at ``/``: views, forms and URLs. Every lookup is scoped
to the person signed in; every change goes through the model verbs."""
