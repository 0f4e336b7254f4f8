//! `eddy flink run FILE [--jobmanager http://host:port]`: exports the pipeline as a PyFlink program
//! (generators materialised) into `.eddy-flink/NAME/` beside it, runs it — on an in-process
//! mini-cluster, or submitted to a session cluster — and, on a cluster, follows the job through the
//! JobManager's REST API: its state, records read and written per vertex, and the root cause of a
//! failure with the node it came from. Ctrl-C cancels the job.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::export::{self, Target};
use super::flink_rest::{JobManager, root_cause};
use crate::export::flink_progress::FlinkProgress;
use crate::export::kinesis::KinesisConnector;
use crate::model::check::check_file;

/// The Python that runs the program: `EDDY_FLINK_PYTHON`, or `python3`; it must have PyFlink.
fn python() -> Result<PathBuf, String> {
    let python = std::env::var_os("EDDY_FLINK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let has_pyflink = Command::new(&python)
        .args(["-c", "import pyflink"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_pyflink {
        return Err(format!(
            "PyFlink is not installed for {}: install it with `pip install apache-flink==2.3.0` \
             (Python 3.9-3.11 and Java 11 or 17), or set EDDY_FLINK_PYTHON to a Python that has it",
            python.display()
        ));
    }
    let has_java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_java {
        return Err("Java is not installed (Flink needs Java 11 or 17 on the PATH)".into());
    }
    Ok(python)
}

/// The nodes of the pipeline a Flink message names, for pointing back at them.
fn nodes_named(message: &str, node_ids: &[String]) -> Vec<String> {
    node_ids
        .iter()
        .filter(|id| {
            message.contains(&format!("`{id}`"))
                || message.contains(&format!("{id}__"))
                || message.contains(&format!("default_database.{id}"))
        })
        .cloned()
        .collect()
}

pub fn run(
    file: &Path,
    jobmanager: Option<String>,
    kinesis_connector: KinesisConnector,
    progress_json: bool,
) -> anyhow::Result<ExitCode> {
    let jobmanager = match jobmanager.as_deref().map(JobManager::parse).transpose() {
        Ok(jm) => jm,
        Err(e) => {
            eprintln!("eddy: --jobmanager {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    // A JobManager that does not answer fails at once, before anything is exported.
    if let Some(jm) = &jobmanager
        && let Err(e) = jm.call("GET", "/overview")
    {
        eprintln!("eddy: no Flink JobManager answers at {}: {e}", jm.url());
        return Ok(ExitCode::FAILURE);
    }
    let python = match python() {
        Ok(python) => python,
        Err(e) => {
            eprintln!("eddy: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    let folder = std::path::absolute(
        file.parent()
            .unwrap_or(Path::new("."))
            .join(".eddy-flink")
            .join(&stem),
    )?;
    let exported = export::run(
        file,
        Target::PyFlink,
        Some(folder.clone()),
        Some(folder.join("rows")),
        kinesis_connector,
    )?;
    if exported != ExitCode::SUCCESS {
        return Ok(exported);
    }
    let node_ids: Vec<String> = check_file(file)
        .validation
        .and_then(|v| v.plan)
        .map(|p| p.nodes.iter().map(|n| n.id.clone()).collect())
        .unwrap_or_default();
    let mut command = Command::new(&python);
    command
        .arg(folder.join("main.py"))
        .current_dir(&folder)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A local mini-cluster's REST API answers on a free port of this machine, so its job is
    // followed as a session cluster's is.
    let local = match &jobmanager {
        Some(jm) => {
            command.args(["--jobmanager", &format!("{}:{}", jm.host, jm.port)]);
            None
        }
        None => free_port().map(|port| {
            command.args(["--rest-port", &port.to_string()]);
            JobManager {
                host: "127.0.0.1".into(),
                port,
            }
        }),
    };
    let started = chrono::Utc::now().timestamp_millis();
    let mut child = command.spawn()?;
    eprintln!(
        "eddy: running on {}",
        jobmanager.as_ref().map_or(
            "an in-process Flink mini-cluster".to_string(),
            |jm| format!("the Flink cluster at {}", jm.url())
        )
    );
    // What the print sinks print comes out as it comes; the program's errors are kept.
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{line}");
            }
        });
    }
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    if let Some(stderr) = child.stderr.take() {
        let errors = Arc::clone(&errors);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut kept) = errors.lock() {
                    kept.push(line);
                }
            }
        });
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let progress_nodes = progress_json.then(|| node_ids.clone());
    let mut follower = match (&jobmanager, local) {
        (Some(jm), _) => Some(Follower::new(jm.clone(), started, progress_nodes, false)),
        (None, Some(jm)) => Some(Follower::new(jm, started, progress_nodes, true)),
        (None, None) => None,
    };
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interrupted.load(Ordering::SeqCst) {
            if let Some(f) = &follower {
                f.cancel();
            }
            let _ = child.kill();
            let _ = child.wait();
            eprintln!("eddy: cancelled");
            return Ok(ExitCode::from(130));
        }
        if let Some(f) = follower.as_mut() {
            f.poll();
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    if let Some(f) = follower.as_mut() {
        f.finish(&node_ids);
    }
    if status.success() {
        eprintln!("eddy: the Flink job finished; its files are in the sinks' .flink folders");
        return Ok(ExitCode::SUCCESS);
    }
    let lines = errors.lock().map(|l| l.join("\n")).unwrap_or_default();
    let cause = root_cause(&lines);
    eprintln!("eddy: the Flink job failed: {cause}");
    let named = nodes_named(&lines, &node_ids);
    if !named.is_empty() {
        eprintln!("eddy: it comes from node `{}`", named.join("`, `"));
    }
    eprintln!(
        "eddy: the whole output of the Flink program: {}",
        write_log(&folder, &lines)
    );
    Ok(ExitCode::FAILURE)
}

fn write_log(folder: &Path, text: &str) -> String {
    let path = folder.join("flink-run.log");
    match std::fs::write(&path, text) {
        Ok(()) => path.display().to_string(),
        Err(e) => format!("(could not be written: {e})"),
    }
}

/// Follows the job submitted after `started` on a cluster.
struct Follower {
    jm: JobManager,
    started: i64,
    job: Option<String>,
    state: String,
    last_counts: Instant,
    /// With --progress-json: the pipeline's nodes, to report the job's counts per node.
    progress_nodes: Option<Vec<String>>,
    /// The program's own mini-cluster, gone with it: what it last said is all there is.
    local: bool,
}

impl Follower {
    fn new(jm: JobManager, started: i64, progress_nodes: Option<Vec<String>>, local: bool) -> Self {
        Self {
            jm,
            started,
            job: None,
            state: String::new(),
            last_counts: Instant::now(),
            progress_nodes,
            local,
        }
    }

    /// With --progress-json, the job's state and counts per node as one line.
    fn report(&self, details: &Value) {
        if let Some(nodes) = &self.progress_nodes {
            println!("{}", FlinkProgress::from_job(details, nodes).line());
        }
    }

    /// Finds the job, says when its state changes, and prints its counts every few seconds.
    fn poll(&mut self) {
        if self.job.is_none() {
            self.job = self.newest_job();
        }
        let Some(id) = self.job.clone() else {
            return;
        };
        let Ok(details) = self.jm.call("GET", &format!("/jobs/{id}")) else {
            return;
        };
        let state = details["state"].as_str().unwrap_or("?").to_string();
        if state != self.state {
            eprintln!("eddy: job {id}: {state}");
            self.state = state;
        }
        self.report(&details);
        if self.last_counts.elapsed() >= Duration::from_secs(3) {
            self.last_counts = Instant::now();
            print_vertices(&details);
        }
    }

    /// The newest job started since the program was.
    fn newest_job(&self) -> Option<String> {
        let jobs = self.jm.call("GET", "/jobs/overview").ok()?;
        jobs["jobs"]
            .as_array()?
            .iter()
            .filter(|j| j["start-time"].as_i64().unwrap_or(0) >= self.started - 5_000)
            .max_by_key(|j| j["start-time"].as_i64().unwrap_or(0))
            .and_then(|j| j["jid"].as_str().map(str::to_string))
    }

    /// The job's last state and counts, and the root cause of a failure.
    fn finish(&mut self, node_ids: &[String]) {
        if self.job.is_none() {
            self.job = self.newest_job();
        }
        let Some(id) = self.job.clone() else {
            if !self.local {
                eprintln!("eddy: the job was not found on {}", self.jm.url());
            }
            return;
        };
        // The program returns when the job ends; the JobManager may say so a moment later.
        let terminal = |d: &Value| {
            matches!(
                d["state"].as_str(),
                Some("FINISHED" | "FAILED" | "CANCELED")
            )
        };
        let waited = Instant::now();
        let mut details = self.jm.call("GET", &format!("/jobs/{id}"));
        while details.as_ref().is_ok_and(|d| !terminal(d))
            && waited.elapsed() < Duration::from_secs(15)
        {
            std::thread::sleep(Duration::from_millis(300));
            details = self.jm.call("GET", &format!("/jobs/{id}"));
        }
        if let Ok(details) = details {
            eprintln!(
                "eddy: job {id}: {} after {} ms",
                details["state"].as_str().unwrap_or("?"),
                details["duration"].as_i64().unwrap_or(0)
            );
            print_vertices(&details);
            self.report(&details);
            if details["state"] == "FAILED"
                && let Ok(exceptions) = self.jm.call("GET", &format!("/jobs/{id}/exceptions"))
            {
                let trace = exceptions["exceptionHistory"]["entries"][0]["stacktrace"]
                    .as_str()
                    .or_else(|| exceptions["root-exception"].as_str())
                    .unwrap_or_default();
                eprintln!("eddy: root cause: {}", root_cause(trace));
                let named = nodes_named(trace, node_ids);
                if !named.is_empty() {
                    eprintln!("eddy: it comes from node `{}`", named.join("`, `"));
                }
            }
        }
    }

    fn cancel(&self) {
        if let Some(id) = &self.job {
            match self.jm.call("PATCH", &format!("/jobs/{id}?mode=cancel")) {
                Ok(_) => eprintln!("eddy: asked {} to cancel job {id}", self.jm.url()),
                Err(e) => eprintln!("eddy: could not cancel job {id}: {e}"),
            }
        }
    }
}

/// A TCP port free on 127.0.0.1 a moment ago.
fn free_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    listener.local_addr().ok().map(|a| a.port())
}

/// Records read and written per vertex, as the JobManager counts them.
fn print_vertices(details: &Value) {
    let Some(vertices) = details["vertices"].as_array() else {
        return;
    };
    for vertex in vertices {
        let name: String = vertex["name"]
            .as_str()
            .unwrap_or("?")
            .chars()
            .take(70)
            .collect();
        eprintln!(
            "  {:<12} read {:>10}  written {:>10}  {name}",
            vertex["status"].as_str().unwrap_or("?"),
            vertex["metrics"]["read-records"].as_u64().unwrap_or(0),
            vertex["metrics"]["write-records"].as_u64().unwrap_or(0),
        );
    }
}
