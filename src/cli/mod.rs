//! The `eddy` command line: argument parsing and one module per subcommand.

mod check;
mod checkpoints;
mod export;
mod flink_rest;
mod flink_run;
mod fmt;
mod new;
mod open;
mod output;
mod run;
mod schema;
mod summary_json;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::model::Duration as ModelDuration;
use crate::runtime::Speed;

/// Design, run and watch streaming pipelines on your own machine.
#[derive(Debug, Parser)]
#[command(
    name = "eddy",
    version,
    about,
    after_help = "Examples:\n  eddy open pipelines/taxi_workshop.ron   open a pipeline in the designer\n  eddy run pipelines/taxi_workshop.ron    run a pipeline headless\n  eddy check pipelines/*.ron              check pipeline files for mistakes\n  eddy schema pipelines/taxi_workshop.ron show the columns of every node\n  eddy fmt --check pipelines/*.ron        verify files are in canonical form\n  eddy new my_pipeline                    write a starter pipeline"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// `eddy flink ...`.
#[derive(Debug, Subcommand)]
enum FlinkCommand {
    /// Export FILE and run it on Flink (PyFlink): locally, or on the session cluster at
    /// --jobmanager, following the job there (state, records per vertex, the root cause of a
    /// failure). Ctrl-C cancels it.
    #[command(
        after_help = "Needs Python with apache-flink (pip install apache-flink==2.3.0; EDDY_FLINK_PYTHON picks the\nPython) and Java 11 or 17. The program and the generators' rows go to .eddy-flink/NAME/ beside\nthe file; file sinks write into NAME.flink/ folders beside their files.\n\nExamples:\n  eddy flink run pipelines/iot_alerts.ron\n  eddy flink run pipelines/iot_alerts.ron --jobmanager http://127.0.0.1:8081"
    )]
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// A session cluster's REST address, e.g. http://127.0.0.1:8081 (default: an in-process
        /// mini-cluster).
        #[arg(long, value_name = "URL")]
        jobmanager: Option<String>,
        /// The Kinesis connector version for Kinesis tables: 5 or 4.
        #[arg(long, value_name = "VERSION", default_value = "5")]
        kinesis_connector: String,
        /// Also print the job's state and records per node as JSON lines starting
        /// `eddy-flink-progress ` on standard output (what the app draws on its canvas).
        #[arg(long)]
        progress_json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open a pipeline in the designer (or an empty one).
    #[command(
        after_help = "Examples:\n  eddy open\n  eddy open pipelines/iot_alerts.ron\n  eddy open pipelines/late_data_lab.ron --run"
    )]
    Open {
        /// The pipeline file to open.
        file: Option<PathBuf>,
        /// Start running the pipeline as soon as the window opens (for a demo).
        #[arg(long)]
        run: bool,
    },
    /// Check pipeline files and print every problem as `file:line:col: node: message`.
    #[command(
        after_help = "Exits with 1 when any file has an error (warnings alone exit 0).\n\nExamples:\n  eddy check pipelines/taxi_workshop.ron\n  eddy check pipelines/*.ron"
    )]
    Check {
        /// Pipeline files (.ron).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run a pipeline headless and print a summary per node.
    #[command(
        after_help = "Finite sources run to their end; endless ones until --limit, --for or Ctrl-C.\nWith --limit or --for the sources end as if complete, so every open window fires.\nOutputs: the file sinks of a run replace their files together, and only when the run completes\n(or ends by --limit or --for). A failed run changes no output. Ctrl-C, SIGTERM or SIGHUP stop\nat once: every output stays as it was, and the rows written so far go to NAME.incomplete.EXT.\nWith --checkpoint-every the run saves its state that often; after a crash (even kill -9) or a\nstop, --resume continues from the latest complete checkpoint. Ctrl-C and --for then take a\nsavepoint first (stop-with-savepoint), and outputs are put in place when the run completes.\n\nExamples:\n  eddy run pipelines/taxi_workshop.ron\n  eddy run pipelines/late_data_lab.ron --speed 10x\n  eddy run my_stream.ron --for 30s\n  eddy run pipelines/checkpoint_lab.ron --speed 10x --checkpoint-every 2s\n  eddy run pipelines/checkpoint_lab.ron --resume"
    )]
    Run {
        /// The pipeline file.
        file: PathBuf,
        /// max (as fast as possible), or a factor of event time as in the app: 10x, 1x (real time), 0.1x.
        #[arg(long, default_value = "max")]
        speed: Speed,
        /// End each source, as if complete, after this many of its rows (whole batches).
        #[arg(long, value_name = "ROWS")]
        limit: Option<u64>,
        /// Stop after this much wall time, e.g. 30s or 5m.
        #[arg(long = "for", value_name = "DURATION")]
        for_duration: Option<ModelDuration>,
        /// Instances of each keyed window (default: the number of cores).
        #[arg(long)]
        parallelism: Option<usize>,
        /// Take a checkpoint this often (wall time), e.g. 10s: a crashed or stopped run can then
        /// continue with --resume.
        #[arg(long, value_name = "DURATION")]
        checkpoint_every: Option<ModelDuration>,
        /// Where checkpoints go (default: .eddy-checkpoints/<file name> beside the pipeline).
        #[arg(long, value_name = "DIR")]
        checkpoint_dir: Option<PathBuf>,
        /// exactly-once (aligned barriers; sinks keep only what a checkpoint covers) or
        /// at-least-once (no alignment; rows after the checkpoint are written again).
        #[arg(long, value_name = "MODE")]
        checkpoint_mode: Option<String>,
        /// Complete checkpoints kept.
        #[arg(long, value_name = "N", default_value_t = 3)]
        retain_checkpoints: usize,
        /// Continue a crashed or stopped run from its latest complete checkpoint (in DIR, or the
        /// checkpoint directory).
        #[arg(long, value_name = "DIR", num_args = 0..=1)]
        resume: Option<Option<PathBuf>>,
        /// Also write the summary (per node: rows in and out, late, late firings, dropped, errors,
        /// throttled; the wall time in ms) as JSON to PATH.
        #[arg(long, value_name = "PATH")]
        summary_json: Option<PathBuf>,
    },
    /// Export a pipeline to Flink SQL (or a PyFlink program running it), with a report of what
    /// does not translate.
    #[command(
        after_help = "Writes NAME.flink.sql (or NAME-pyflink/main.py) and NAME.flink-report.txt beside the file\n(or in --out), and prints the report. The exit code is 1 when nothing reaches a Flink sink.\nWith --materialize-generators DIR each generator's rows (exactly Eddy's, for its seed and stop\ncondition) are written to DIR/<node>.csv and exported as a table over that file, so Flink reads\nthe same events as Eddy.\n\nExamples:\n  eddy export pipelines/user_sessions.ron --to flink-sql --materialize-generators out/rows\n  eddy export my_pipeline.ron --to pyflink --out my_job && python my_job/main.py"
    )]
    Export {
        /// The pipeline file.
        file: PathBuf,
        /// flink-sql (a SQL script) or pyflink (main.py, laid out as a Managed Service for Apache
        /// Flink application).
        #[arg(long, value_name = "TARGET", default_value = "flink-sql")]
        to: String,
        /// Where the files go (default: beside the pipeline).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Write each generator's rows to DIR/<node>.csv and export tables over them.
        #[arg(long, value_name = "DIR")]
        materialize_generators: Option<PathBuf>,
        /// The Kinesis connector version the Kinesis tables are written for: 5 (the current
        /// flink-connector-aws, the stream by ARN) or 4 (the stream by name, as Managed Flink's
        /// older examples and 5.x's kinesis-legacy).
        #[arg(long, value_name = "VERSION", default_value = "5")]
        kinesis_connector: String,
    },
    /// Run a pipeline on Apache Flink: exported with its generators' rows, run by PyFlink on an
    /// in-process mini-cluster or a session cluster, and followed there.
    #[command(subcommand)]
    Flink(FlinkCommand),
    /// Print the columns and types flowing out of every node.
    #[command(after_help = "Examples:\n  eddy schema pipelines/taxi_workshop.ron")]
    Schema {
        /// The pipeline file.
        file: PathBuf,
    },
    /// Rewrite pipeline files in canonical form (stable order, pretty RON).
    #[command(
        after_help = "With --check nothing is written: files that would change are listed and the exit code is 1.\nUse it in CI or a git pre-commit hook.\n\nExamples:\n  eddy fmt pipelines/my_pipeline.ron\n  eddy fmt --check pipelines/*.ron"
    )]
    Fmt {
        /// Only report files that are not in canonical form.
        #[arg(long)]
        check: bool,
        /// Pipeline files (.ron).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a starter pipeline to NAME.ron (never overwrites a file).
    #[command(
        after_help = "Examples:\n  eddy new sensor_alerts\n  eddy new pipelines/fraud_check.ron"
    )]
    New {
        /// Name of the pipeline, or a path ending in .ron.
        name: String,
    },
}

/// Parses the process arguments and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => open::run(None, false),
        Some(Command::Open { file, run }) => open::run(file, run),
        Some(Command::Check { files }) => check::run(&files),
        Some(Command::Schema { file }) => schema::run(&file),
        Some(Command::Flink(FlinkCommand::Run {
            file,
            jobmanager,
            kinesis_connector,
            progress_json,
        })) => match crate::export::kinesis::KinesisConnector::parse(&kinesis_connector) {
            Some(connector) => flink_run::run(&file, jobmanager, connector, progress_json),
            None => {
                eprintln!("eddy: --kinesis-connector takes 5 or 4, not `{kinesis_connector}`");
                Ok(ExitCode::FAILURE)
            }
        },
        Some(Command::Export {
            file,
            to,
            out,
            materialize_generators,
            kinesis_connector,
        }) => match (
            export::Target::parse(&to),
            crate::export::kinesis::KinesisConnector::parse(&kinesis_connector),
        ) {
            (Some(target), Some(connector)) => {
                export::run(&file, target, out, materialize_generators, connector)
            }
            (None, _) => {
                eprintln!("eddy: --to takes flink-sql or pyflink, not `{to}`");
                Ok(ExitCode::FAILURE)
            }
            (_, None) => {
                eprintln!("eddy: --kinesis-connector takes 5 or 4, not `{kinesis_connector}`");
                Ok(ExitCode::FAILURE)
            }
        },
        Some(Command::Run {
            file,
            speed,
            limit,
            for_duration,
            parallelism,
            checkpoint_every,
            checkpoint_dir,
            checkpoint_mode,
            retain_checkpoints,
            resume,
            summary_json,
        }) => run::run(
            &file,
            run::RunArgs {
                speed,
                limit_rows: limit,
                for_duration,
                parallelism,
                summary_json,
                checkpoints: checkpoints::CheckpointArgs {
                    every: checkpoint_every,
                    dir: checkpoint_dir,
                    mode: checkpoint_mode,
                    retain: retain_checkpoints,
                    resume,
                },
            },
        ),
        Some(Command::Fmt { check, files }) => fmt::run(&files, check),
        Some(Command::New { name }) => new::run(&name),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("eddy: {error:#}");
            ExitCode::FAILURE
        }
    }
}
