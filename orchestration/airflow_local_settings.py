"""Airflow local settings for Satu Data Paser: copied to `$AIRFLOW_HOME/config/` by `airflow_env`.

Airflow imports this module (by its top-level name `airflow_local_settings`) before it configures
logging, in every component and task process. great_expectations registers ~200 functions at
INFO on import; Airflow's NAMESPACE_LEVELS setting does not reach that logger, this does.
"""

from __future__ import annotations

import logging

logging.getLogger("great_expectations").setLevel(logging.WARNING)

# In the scheduler of a LocalExecutor platform: import the tasks' stacks before the workers fork, so
# every task process starts with them loaded (orchestration/warm_workers.py).
from orchestration.warm_workers import warm  # noqa: E402

warm()

# In the scheduler on the SQLite metadata DB: a DAG run starts when it is due, not at the next whole
# second (orchestration/sqlite_clock.py).
from orchestration.sqlite_clock import install as install_sqlite_clock  # noqa: E402

install_sqlite_clock()

# In the triggerer: a fired event goes to the metadata DB at once, not at the runner's next one-second
# round (orchestration/triggerer_wakeup.py).
from orchestration.triggerer_wakeup import install as install_triggerer_wakeup  # noqa: E402

install_triggerer_wakeup()

# Where task supervisors run (the scheduler's LocalExecutor workers, a Celery worker): a task process that has
# closed its sockets is seen to exit within 50 ms, not after a 5 s select() (orchestration/supervisor_exit.py).
from orchestration.supervisor_exit import install as install_supervisor_exit  # noqa: E402

install_supervisor_exit()
