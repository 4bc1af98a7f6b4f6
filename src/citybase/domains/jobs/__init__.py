"""Persisted, resumable jobs for long work (imports, bulk coding, batch matching)."""

from citybase.domains.jobs.service import Handler, Job, JobContext, JobFailed, JobRunner, JobService

__all__ = ["Handler", "Job", "JobContext", "JobFailed", "JobRunner", "JobService"]
