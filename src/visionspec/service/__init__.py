"""The analysis service: the reference HTTP service (``visionspec serve``) and judging a service's answers.

- ``contract``: the JSON of the HTTP contract, the mapping for services whose JSON differs, and the
  validated reading of an answer (no HTTP library needed).
- ``analysis``: the reference service's analysis of one uploaded picture (visionspec's own decoding,
  preprocessing, adapters, score threshold and crops); ``app``: its ASGI app (extra ``serve``).
- ``client``: a service as the model under test: concurrent uploads, retries, the prediction cache.
- ``comparison``: a service against the candidate detector, picture by picture.

Importing this package imports neither Starlette nor httpx.
"""
