"""政策问答: retrieval-augmented QA over Chinese government policy documents."""

__version__ = "0.1.0"
