"""Running ONNX models: model cards, sessions on a known provider, preprocessing, output adapters,
batched and cached inference.

Typical use::

    session = open_model("models/balloon-detector/checkpoints/epoch-05.onnx", device=Device.AUTO)
    dataset = DatasetRegistry().load("12345")
    cache = PredictionCache.from_environment()          # .visionspec-cache/ or $VISIONSPEC_CACHE
    detections = predict(session, dataset, cache=cache)  # Detections in the data set's category ids

    colour = open_model("models/balloon-colour/checkpoints/epoch-05.onnx")
    red = dataset.objects_where(colour="red")
    verdicts = classify_crops(colour, dataset, dataset.annotations.image_ids, dataset.annotations.boxes, cache=cache)
"""

from __future__ import annotations

from visionspec.runtime.adapters import REGISTRY as ADAPTERS
from visionspec.runtime.adapters import Adapter, BoxOutput, OutputAdapter
from visionspec.runtime.batching import DEFAULT_BATCH_SIZE, BatchSettings
from visionspec.runtime.cache import CACHE_ENV, CacheStats, PredictionCache, cache_key
from visionspec.runtime.card import (
    METADATA_KEY,
    BoxFormat,
    CardSource,
    ChannelOrder,
    Coordinates,
    InputDType,
    InputSpec,
    Layout,
    ModelCard,
    OutputSpec,
    ResizeMode,
    Task,
    build_card,
    card_candidates,
    card_path_for,
    load_card,
    read_card_file,
)
from visionspec.runtime.crops import Classifications, classify_crops, crop_box
from visionspec.runtime.inference import ImageSource, ModelDetections, detect, predict, to_categories
from visionspec.runtime.preprocess import ImageTransform, Preprocessor
from visionspec.runtime.progress import ProgressCallback, ProgressLine
from visionspec.runtime.session import THREADS_ENV, Device, ModelSession, default_threads, file_sha256, open_model

__all__ = [
    "ADAPTERS",
    "CACHE_ENV",
    "DEFAULT_BATCH_SIZE",
    "METADATA_KEY",
    "THREADS_ENV",
    "Adapter",
    "BatchSettings",
    "BoxFormat",
    "BoxOutput",
    "CacheStats",
    "CardSource",
    "ChannelOrder",
    "Classifications",
    "Coordinates",
    "Device",
    "ImageSource",
    "ImageTransform",
    "InputDType",
    "InputSpec",
    "Layout",
    "ModelCard",
    "ModelDetections",
    "ModelSession",
    "OutputAdapter",
    "OutputSpec",
    "PredictionCache",
    "Preprocessor",
    "ProgressCallback",
    "ProgressLine",
    "ResizeMode",
    "Task",
    "build_card",
    "cache_key",
    "card_candidates",
    "card_path_for",
    "classify_crops",
    "crop_box",
    "default_threads",
    "detect",
    "file_sha256",
    "load_card",
    "open_model",
    "predict",
    "read_card_file",
    "to_categories",
]
