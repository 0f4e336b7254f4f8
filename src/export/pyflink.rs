//! The export as a PyFlink program laid out as a Managed Service for Apache Flink Python
//! application: `main.py` runs the statements with a TableEnvironment, reading its settings from the
//! `eddy` group of `application_properties.json` when there is one (MSF provides it at
//! `/etc/flink/application_properties.json`), from the command line otherwise. Locally it runs on a
//! mini-cluster, or on a session cluster with `--jobmanager host:port`, and waits for the job.

use super::flink_sql::FlinkExport;

/// `main.py` for `export`, exported from `source`.
pub fn main_py(export: &FlinkExport, pipeline: &str, source: &str) -> String {
    let statements = serde_json::to_string(&export.statements).unwrap_or_else(|_| "[]".into());
    // A JSON string literal is a Python string literal too.
    let literal = serde_json::to_string(&statements).unwrap_or_else(|_| "\"[]\"".into());
    format!(
        r#""""Runs the pipeline "{name}" as Flink SQL with PyFlink.

Exported by Eddy from {source}. Locally:
    python main.py                                  # an in-process mini-cluster
    python main.py --jobmanager 127.0.0.1:8081      # a session cluster
    python main.py --rest-port 18099                # a mini-cluster whose REST API answers there
On Managed Service for Apache Flink, zip this folder; settings come from the property group
"eddy" (keys: parallelism, jobmanager) of application_properties.json.
"""
import json
import os
import re
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

STATEMENTS = json.loads({literal})
MSF_PROPERTIES = "/etc/flink/application_properties.json"


def properties():
    """The "eddy" property group, from MSF's file or one beside this program."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "application_properties.json")
    for path in (MSF_PROPERTIES, here):
        if os.path.exists(path):
            with open(path) as f:
                for group in json.load(f):
                    if group.get("PropertyGroupId") == "eddy":
                        return group.get("PropertyMap", {{}})
    return {{}}


def main(args):
    props = properties()
    jobmanager = props.get("jobmanager")
    if "--jobmanager" in args:
        jobmanager = args[args.index("--jobmanager") + 1]
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    config = t_env.get_config()
    config.set("parallelism.default", str(props.get("parallelism", "1")))
    if jobmanager:
        address = re.sub(r"^https?://", "", jobmanager).rstrip("/")
        host, _, port = address.rpartition(":")
        config.set("execution.target", "remote")
        config.set("rest.address", host)
        config.set("rest.port", port)
    elif not os.path.exists(MSF_PROPERTIES):
        # The in-process mini-cluster listens on this machine only.
        for option in ("rest.bind-address", "rest.address", "jobmanager.bind-host",
                       "taskmanager.bind-host", "taskmanager.host"):
            config.set(option, "127.0.0.1")
        # Its REST API on a known port lets `eddy flink run` follow the job.
        if "--rest-port" in args:
            port = args[args.index("--rest-port") + 1]
            config.set("rest.port", port)
            config.set("rest.bind-port", port)
            # Counts each second rather than Flink's default ten, for a short local job.
            config.set("metrics.fetcher.update-interval", "1000")
    result = None
    for statement in STATEMENTS:
        setting = re.fullmatch(r"SET '([^']+)' = '([^']*)'", statement)
        if setting:
            config.set(setting.group(1), setting.group(2))
        else:
            result = t_env.execute_sql(statement)
    # MSF runs the job on its own; here the program waits for it to finish.
    if result is not None and not os.path.exists(MSF_PROPERTIES):
        result.wait()


if __name__ == "__main__":
    main(sys.argv[1:])
"#,
        name = pipeline.replace('"', "'"),
    )
}
