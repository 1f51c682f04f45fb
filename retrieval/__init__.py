"""Coverage retrieval: posts, storage, ranking and digests, independent of any chat transport."""
