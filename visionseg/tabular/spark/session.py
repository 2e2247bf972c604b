"""Starting a quiet local Spark session, with a clear message when Java is missing.

Settings that matter (see /work/shared/library-traps.md): ``PYSPARK_PYTHON`` is this
interpreter (else Python workers run another one and every UDF fails), Arrow is on with no
silent fallback, the UI and progress bars are off, and logging is at ERROR.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from typing import Any

from visionseg.tabular.errors import TabularInputError

_SESSIONS: dict[str, Any] = {}
_LOG4J = """status = error
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def _log4j_file() -> str:
    path = os.path.join(tempfile.gettempdir(), "visionseg-spark-log4j2.properties")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(_LOG4J)
    return path


def java_version() -> str:
    """The first line of ``java -version``; a TabularInputError when Java is missing."""
    home = os.environ.get("JAVA_HOME")
    java = shutil.which("java") or (os.path.join(home, "bin", "java") if home else None)
    if not java or not os.path.exists(java):
        raise TabularInputError(
            "engine=spark needs Java 17 (or 11/21): 'java' is not on PATH and JAVA_HOME is "
            "not set; install a JDK (e.g. apt-get install openjdk-17-jre-headless) or use "
            "engine=pandas")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TabularInputError(f"engine=spark: cannot run {java} -version ({exc})") from None
    return (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else java


def spark_session(master: str = "local[*]", driver_memory: str = "4g") -> Any:
    """A (cached) SparkSession on ``master``."""
    if master in _SESSIONS:
        return _SESSIONS[master]
    java_version()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise TabularInputError("engine=spark needs pyspark: pip install 'visionseg[spark]'"
                                ) from None
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # pyspark 4.3 warns on every pandas 3 conversion (library-traps.md); Arrow stays on
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated",
                            module="pyspark")
    log4j = f"-Dlog4j2.configurationFile=file:{_log4j_file()}"
    # the driver JVM starts before any builder setting is read: its options go here
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f'--driver-java-options "{log4j}" pyspark-shell')
    spark = (SparkSession.builder.master(master).appName("visionseg.tabular")
             .config("spark.driver.extraJavaOptions", log4j)
             .config("spark.executor.extraJavaOptions", log4j)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", driver_memory)
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true")
             .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
             .config("spark.sql.shuffle.partitions", "8")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs "Closing down clientserver connection" from __del__ at interpreter exit,
    # when the streams may be closed already: a traceback-looking message after every run
    logging.getLogger("py4j").setLevel(logging.WARNING)
    _SESSIONS[master] = spark
    return spark
