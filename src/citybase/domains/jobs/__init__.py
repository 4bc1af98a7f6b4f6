"""Persisted, resumable jobs for long work (imports, bulk coding, batch matching)."""

from citybase.domains.jobs.actors import actor_params, job_actor
from citybase.domains.jobs.service import Handler, Job, JobContext, JobFailed, JobRunner, JobService

__all__ = ["Handler", "Job", "JobContext", "JobFailed", "JobRunner", "JobService", "actor_params", "job_actor"]
