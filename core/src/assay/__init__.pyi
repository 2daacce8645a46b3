# What type checkers and IDEs see of ``import assay``; at run time each name loads on first access (__init__.py).
from assay import datum as datum
from assay import errors as errors
from assay import space as space
from assay.callbacks import TrainingCallback as TrainingCallback
from assay.db.engine import setup as setup
from assay.inference.ensemble_bundle import load_bundle as load_bundle
from assay.objects.data import Dataset as Dataset
from assay.objects.data import Fold as Fold
from assay.objects.data import Splitset as Splitset
from assay.objects.ensemble import Ensemble as Ensemble
from assay.objects.experiment import Algorithm as Algorithm
from assay.objects.experiment import Hyperparamset as Hyperparamset
from assay.objects.experiment import Job as Job
from assay.objects.experiment import Prediction as Prediction
from assay.objects.experiment import Predictor as Predictor
from assay.objects.experiment import Queue as Queue
from assay.objects.make import Experiment as Experiment
from assay.objects.pipeline import Pipeline as Pipeline
from assay.objects.steps import Coder as Coder
from assay.objects.steps import Encoderset as Encoderset
from assay.objects.steps import Feature as Feature
from assay.objects.steps import Foldset as Foldset
from assay.objects.steps import Label as Label

__version__: str
__all__: list[str]
