//! `cargo xtask bench`: measures kling side by side with what users would pick instead
//! (the official Python SDK, curl), in one run, against sandboxes on 127.0.0.1, and
//! writes `target/bench/report.json` and `BENCHMARKS.md`.
//!
//! Each process is measured from the outside: wall time, CPU time (user + system, from
//! `getrusage` of the reaped children, to the microsecond) and peak RSS
//! (`VmHWM`, sampled every 20 ms while it runs; not in throughput runs, which sampling
//! slows). Repeated runs give the median and the spread. The
//! Python SDK is installed by the bench into `target/bench/venv`; without it (no
//! network), its columns are empty and the report says so. Linux only.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::sys::time::TimeVal;
use nix::unistd::Pid;
use serde_json::{Value, json};

use crate::bench_page::{self, PageRow};
use crate::cargo::{cargo, target_directory};
use crate::codegen;

/// One line of the report.
struct Row {
    name: String,
    ours: f64,
    theirs: Option<f64>,
    unit: &'static str,
    /// How many times better ours is (or, with `per_ideal`, ours over the ideal).
    ratio: Option<f64>,
    target: String,
    met: bool,
    note: String,
}

impl Row {
    fn to_json(&self) -> Value {
        json!({"name": self.name, "ours": self.ours, "theirs": self.theirs, "unit": self.unit, "ratio": self.ratio, "target": self.target, "met": self.met, "note": self.note})
    }
}

/// A finished process, seen from outside.
#[derive(Clone, Copy, Debug)]
struct Measured {
    wall: f64,
    cpu: f64,
    peak_rss_mib: f64,
}

type Fallible<T> = Result<T, String>;

const KLING: &str = "model_kling-v1-6-pro";
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// Runs of each way of downloading 1 GiB for its throughput.
const THROUGHPUT_RUNS: usize = 11;
/// Runs of each download whose peak RSS is sampled.
const RSS_RUNS: usize = 3;

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line task reports on its streams"
)]
pub fn main(args: &[&str]) -> ExitCode {
    let names: Vec<&str> = PARTS
        .iter()
        .map(|&(section, _, _)| section)
        .chain([MICRO_SECTION])
        .collect();
    if let Some(unknown) = args.iter().find(|arg| !names.contains(arg)) {
        eprintln!(
            "error: `cargo xtask bench` has no section `{unknown}`\n\n\
             Usage: cargo xtask bench [SECTION...]   (one of: {}; all when none is named)",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    match run(args) {
        Ok((rows, micro)) => {
            if !rows.is_empty() {
                println!("{}\n{}", table(&rows), notes(&rows));
            }
            if !micro.is_empty() {
                println!("\n{}", micro_table(&micro));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One part of the bench: the name that runs it alone, what it is called in the
/// progress lines, and the function.
type Part = (
    &'static str,
    &'static str,
    fn(&Bins, Option<&Path>) -> Fallible<Vec<Row>>,
);

/// The parts that give rows of the report, in the order they run.
const PARTS: [Part; 8] = [
    ("generate", "one generation", bench_generate),
    ("download", "download", bench_download),
    ("cold-start", "cold start", bench_cold_start),
    ("codegen", "codegen", bench_codegen),
    ("batch", "batch", bench_batch),
    ("batch-scale", "batch at scale", bench_batch_scale),
    ("polling", "polling", bench_polling),
    ("packaging", "packaging", bench_packaging),
];

/// The sections that build what they measure themselves (no shared release binaries, no
/// Python).
const BUILDS_ITS_OWN: [&str; 1] = ["packaging"];

/// The name that runs the criterion micro-benchmarks alone (they give no rows).
const MICRO_SECTION: &str = "micro";

/// Runs the named sections (all when none is named). A whole run writes the report files
/// anew; a partial one merges its rows into them, keeping every other row.
#[expect(clippy::print_stderr, reason = "progress of a long task")]
fn run(sections: &[&str]) -> Fallible<(Vec<Row>, Vec<Micro>)> {
    let started = Instant::now();
    let root = codegen::workspace_root();
    let target = target_directory(&root)?;
    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let _scratch = Scratch(dir.clone());
    let wanted = |section: &str| sections.is_empty() || sections.contains(&section);
    let needs_binaries = PARTS
        .iter()
        .any(|&(section, _, _)| wanted(section) && !BUILDS_ITS_OWN.contains(&section));
    let bins = Bins {
        kling: target.join("release/kling"),
        sandbox: target.join("release/kling-sandbox"),
        dir: dir.clone(),
    };
    let python = if needs_binaries {
        build_release_binaries(&root)?;
        let python = python_with_sdk(&dir);
        if python.is_none() {
            eprintln!(
                "bench: no Python with scenario-sdk (pip install failed?): the Python columns stay empty"
            );
        }
        python
    } else {
        None
    };
    let mut rows = Vec::new();
    for (section, name, bench) in PARTS {
        if !wanted(section) {
            continue;
        }
        eprintln!(
            "bench: {name} ({:.0} s so far)",
            started.elapsed().as_secs_f64()
        );
        rows.extend(bench(&bins, python.as_deref())?);
    }
    let micro = if wanted(MICRO_SECTION) {
        eprintln!(
            "bench: micro-benchmarks ({:.0} s so far)",
            started.elapsed().as_secs_f64()
        );
        bench_micro(&root, &target)?
    } else {
        Vec::new()
    };
    let report = dir.join("report.json");
    if sections.is_empty() {
        write_report(
            &root,
            &report,
            &rows,
            &micro,
            python.is_some(),
            started.elapsed(),
        )?;
        eprintln!(
            "bench: done in {:.0} s; {} and BENCHMARKS.md written",
            started.elapsed().as_secs_f64(),
            report.display()
        );
    } else if !rows.is_empty() {
        merge_report(&root, &report, sections, &rows, started.elapsed())?;
        eprintln!(
            "bench: done in {:.0} s; its rows merged into {} and BENCHMARKS.md",
            started.elapsed().as_secs_f64(),
            report.display()
        );
    } else {
        eprintln!(
            "bench: done in {:.0} s; the micro-benchmarks alone write no report",
            started.elapsed().as_secs_f64()
        );
    }
    Ok((rows, micro))
}

/// The release `kling` and `kling-sandbox` the sections measure.
#[expect(clippy::print_stderr, reason = "progress of a long task")]
fn build_release_binaries(root: &Path) -> Fallible<()> {
    eprintln!("bench: building the release binaries");
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "kling-cli",
            "-p",
            "kling-sandbox",
        ])
        .current_dir(root)
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("the release build failed".to_owned())
    }
}

/// A micro-benchmark of `crates/kling-types/benches/micro.rs`: ours and an untyped
/// client's way of doing the same, criterion's median time of each.
struct Micro {
    what: &'static str,
    ours_ns: f64,
    /// What the untyped way does.
    theirs: &'static str,
    theirs_ns: f64,
}

/// The criterion groups: what each measures, the function it is compared with, and
/// what that function does.
const MICRO: [(&str, &str, &str, &str); 3] = [
    (
        "request_check",
        "a request's JSON checked against the model (decode + `validate()`)",
        "jsonschema",
        "the `jsonschema` crate on the same JSON",
    ),
    (
        "request_encode",
        "a typed request validated and encoded into its body",
        "serde_json_value",
        "a `serde_json::Value` encoded",
    ),
    (
        "job_decode",
        "a job response (each poll) decoded",
        "serde_json_value",
        "into a `serde_json::Value`",
    ),
];

/// Runs the criterion benches (short: they are stable to a few percent) and reads the
/// medians from `<target>/criterion/<group>/<function>/new/estimates.json`.
fn bench_micro(root: &Path, target: &Path) -> Fallible<Vec<Micro>> {
    let status = Command::new(cargo())
        .args([
            "bench",
            "--quiet",
            "-p",
            "kling-types",
            "--bench",
            "micro",
            "--",
            "--warm-up-time",
            "1",
            "--measurement-time",
            "3",
        ])
        .current_dir(root)
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run cargo bench: {error}"))?;
    if !status.success() {
        return Err("`cargo bench -p kling-types --bench micro` failed".to_owned());
    }
    let median_ns = |group: &str, function: &str| -> Fallible<f64> {
        let path = target.join(format!("criterion/{group}/{function}/new/estimates.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let estimates: Value = serde_json::from_str(&text).map_err(|error| error.to_string())?;
        estimates["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{}: no median", path.display()))
    };
    MICRO
        .iter()
        .map(|&(group, what, function, theirs)| {
            Ok(Micro {
                what,
                ours_ns: median_ns(group, "kling_types")?,
                theirs,
                theirs_ns: median_ns(group, function)?,
            })
        })
        .collect()
}

fn micro_table(micro: &[Micro]) -> String {
    let mut out =
        String::from("| what | kling-types | untyped | time ours / theirs |\n|---|---|---|---|\n");
    for row in micro {
        let _ = writeln!(
            out,
            "| {} | {:.0} ns | {:.0} ns ({}) | {:.2}× |",
            row.what,
            row.ours_ns,
            row.theirs_ns,
            row.theirs,
            row.ours_ns / row.theirs_ns
        );
    }
    out
}

/// The bench's folder: when the run ends, however it ends, everything in it goes but the
/// report and the venv (kept so that the next run need not install the SDK again).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() == "venv" || entry.file_name() == "report.json" {
                continue;
            }
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

struct Bins {
    kling: PathBuf,
    sandbox: PathBuf,
    dir: PathBuf,
}

impl Bins {
    /// `kling` against a sandbox, with its own data folder.
    fn kling(&self, sandbox: &SandboxProcess, args: &[&str]) -> Command {
        self.kling_at(&self.kling, sandbox, args)
    }

    /// [`Self::kling`] with another build of kling (a baseline).
    fn kling_at(&self, program: &Path, sandbox: &SandboxProcess, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("SCENARIO_BASE_URL", &sandbox.base_url)
            .env("SCENARIO_SDK_API_KEY", "sandbox-key")
            .env("SCENARIO_SDK_API_SECRET", "sandbox-secret")
            .env("KLING_DATA_DIR", self.dir.join("data"))
            .env_remove("RUST_LOG");
        command
    }
}

/// A `kling-sandbox` process on a free port; killed when dropped.
struct SandboxProcess {
    child: Child,
    base_url: String,
}

impl SandboxProcess {
    fn start(bin: &Path, args: &[&str]) -> Fallible<Self> {
        Self::start_on(bin, args, None)
    }

    /// [`Self::start`], its threads kept on one CPU when `cpu` is given.
    fn start_on(bin: &Path, args: &[&str], cpu: Option<&str>) -> Fallible<Self> {
        let mut command = Command::new(bin);
        command.args(["--port", "0"]).args(args);
        let mut child = on_cpu(command, cpu)
            .env_remove("SCENARIO_SDK_API_KEY")
            .env_remove("SCENARIO_SDK_API_SECRET")
            .env("RUST_LOG", "kling_sandbox=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", bin.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let base_url = loop {
            let Some(Ok(line)) = lines.next() else {
                return Err("the sandbox ended before listening".to_owned());
            };
            if let Some(at) = line.find("listening on ") {
                break line[at + "listening on ".len()..].trim().to_owned();
            }
        };
        // Keep reading its log, or a full pipe would stall it.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, base_url })
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two CPUs to keep a server and its client apart, when the machine has two and
/// `taskset` (util-linux) is there.
fn two_cpus() -> Option<(&'static str, &'static str)> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let taskset = Command::new("taskset")
        .args(["-c", "1", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    (cpus >= 2 && taskset).then_some(("0", "1"))
}

/// `command`, run by `taskset -c CPU` when `cpu` is given (the process and its threads
/// stay on that CPU).
fn on_cpu(command: Command, cpu: Option<&str>) -> Command {
    let Some(cpu) = cpu else {
        return command;
    };
    let mut pinned = Command::new("taskset");
    pinned
        .args(["-c", cpu])
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => pinned.env(key, value),
            None => pinned.env_remove(key),
        };
    }
    pinned
}

/// Runs a command to its end: wall and CPU time, peak RSS; an error if it fails.
fn measure(command: &mut Command) -> Fallible<Measured> {
    run_measured(command, true)
}

/// [`measure`], sampling the peak RSS only when `sample_rss` (else `peak_rss_mib` is
/// 0): throughput runs go without, since even a sample every 20 ms perturbs them (each
/// reading of `/proc/<pid>/status` takes the memory-map lock that a multi-threaded
/// download's allocations need).
fn run_measured(command: &mut Command, sample_rss: bool) -> Fallible<Measured> {
    let shown = format!("{command:?}");
    let (measured, status, errors) = run_process(command, sample_rss)?;
    if !status.success() {
        return Err(format!("{shown} failed ({status}): {errors}"));
    }
    Ok(measured)
}

/// [`run_measured`] of a run that may fail (a baseline's): how it ended, and its stderr.
fn run_process(
    command: &mut Command,
    sample_rss: bool,
) -> Fallible<(Measured, std::process::ExitStatus, String)> {
    let shown = format!("{command:?}");
    // The CPU time of the children this process reaped, before and after this one: to
    // the microsecond (`/proc/<pid>/stat` counts in 10 ms ticks, longer than a whole
    // `kling generate` takes). Nothing else is reaped meanwhile: runs are one at a time.
    let cpu_before = reaped_children_cpu().map_err(|error| format!("getrusage: {error}"))?;
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{shown}: {error}"))?;
    let stderr = child.stderr.take();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(stderr) = stderr {
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        }
        text
    });
    let pid = i32::try_from(child.id())
        .map(Pid::from_raw)
        .map_err(|error| format!("{shown}: {error}"))?;
    // One thread reaps the process and stamps the moment; this one samples the peak RSS
    // meanwhile, but rarely: reading /proc/<pid>/status takes the process's memory-map
    // lock, and sampling it every millisecond slowed a multi-threaded download by half.
    let waiter = std::thread::spawn(move || (child.wait(), Instant::now()));
    let mut peak_kib = 0u64;
    while !waiter.is_finished() {
        if sample_rss {
            peak_kib = peak_kib.max(peak_rss_kib(pid).unwrap_or(0));
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waiter.join();
            return Err(format!("{shown} ran over {} s", RUN_LIMIT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, at) = waiter
        .join()
        .map_err(|_| format!("{shown}: the waiting thread failed"))?;
    let status = status.map_err(|error| format!("{shown}: {error}"))?;
    let wall = at.duration_since(started).as_secs_f64();
    let cpu = reaped_children_cpu().map_err(|error| format!("getrusage: {error}"))? - cpu_before;
    let measured = Measured {
        wall,
        cpu,
        peak_rss_mib: peak_kib as f64 / 1024.0,
    };
    Ok((measured, status, errors.join().unwrap_or_default()))
}

fn peak_rss_kib(pid: Pid) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of every child this process has reaped so far.
fn reaped_children_cpu() -> nix::Result<f64> {
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let seconds = |time: TimeVal| time.tv_sec() as f64 + time.tv_usec() as f64 / 1e6;
    Ok(seconds(usage.user_time()) + seconds(usage.system_time()))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// `median (min–max, n runs)`.
fn spread(values: &[f64], unit: &str) -> String {
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(min, max), value| {
            (min.min(*value), max.max(*value))
        });
    format!("{min:.3}–{max:.3} {unit} over {} runs", values.len())
}

/// A venv with the official SDK, made once in `target/bench/venv`.
fn python_with_sdk(dir: &Path) -> Option<PathBuf> {
    let venv = dir.join("venv");
    let python = venv.join("bin/python");
    let has_sdk = |python: &Path| {
        Command::new(python)
            .args(["-c", "import scenario_sdk"])
            .status()
            .is_ok_and(|status| status.success())
    };
    if has_sdk(&python) {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|status| status.success());
    let installed = made
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "scenario-sdk==2.4.0"])
            .status()
            .is_ok_and(|status| status.success());
    (installed && has_sdk(&python)).then_some(python)
}

fn write_script(dir: &Path, name: &str, text: &str) -> Fallible<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(path)
}

const PY_GENERATE: &str = r#"import sys, time, httpx
from scenario_sdk import Scenario
base, out = sys.argv[1], sys.argv[2]
client = Scenario(api_key="sandbox-key", api_secret="sandbox-secret", base_url=base, max_retries=0)
job = client.generate.run_model(model_id="model_kling-v1-6-pro", body={"prompt": "a red fox running through snow"}).job
while True:
    job = client.jobs.retrieve(job_id=job.job_id).job
    if job.status in ("success", "failure", "canceled"):
        break
    time.sleep(0.2)  # kling's first pause
asset = client.assets.retrieve(asset_id=job.metadata.asset_ids[0]).asset
with httpx.stream("GET", asset.url) as response, open(out, "wb") as file:
    for chunk in response.iter_bytes():
        file.write(chunk)
"#;

/// 1. One whole generation as a user runs it: process start to file on disk.
fn bench_generate(bins: &Bins, python: Option<&Path>) -> Fallible<Vec<Row>> {
    let sandbox = SandboxProcess::start(
        &bins.sandbox,
        &["--job-seconds", "0", "--output-size", "1048576"],
    )?;
    let script = write_script(&bins.dir, "generate.py", PY_GENERATE)?;
    let (mut ours_wall, mut ours_cpu, mut theirs_wall, mut theirs_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let out = bins.dir.join("generated.mp4");
    for _ in 0..7 {
        let ours = measure(
            bins.kling(
                &sandbox,
                &[
                    "generate",
                    "--prompt",
                    "a red fox running through snow",
                    "-q",
                    "-o",
                ],
            )
            .arg(&out),
        )?;
        ours_wall.push(ours.wall);
        ours_cpu.push(ours.cpu);
        if let Some(python) = python {
            let theirs = measure(
                Command::new(python)
                    .arg(&script)
                    .arg(&sandbox.base_url)
                    .arg(&out),
            )?;
            theirs_wall.push(theirs.wall);
            theirs_cpu.push(theirs.cpu);
        }
    }
    let _ = std::fs::remove_file(&out);
    Ok(vec![
        times_row(
            "one generation (0 s job, 1 MB): wall",
            &mut ours_wall,
            &mut theirs_wall,
            10.0,
        ),
        times_row(
            "one generation (0 s job, 1 MB): CPU",
            &mut ours_cpu,
            &mut theirs_cpu,
            20.0,
        ),
    ])
}

/// A "times less" row: ratio theirs / ours, met when ≥ `target`.
fn times_row(name: &str, ours: &mut [f64], theirs: &mut [f64], target: f64) -> Row {
    let note = format!(
        "ours {}; theirs {}",
        spread(ours, "s"),
        if theirs.is_empty() {
            "not run".to_owned()
        } else {
            spread(theirs, "s")
        }
    );
    let ours = median(ours);
    let theirs = (!theirs.is_empty()).then(|| median(theirs));
    let ratio = theirs.map(|theirs| theirs / ours);
    Row {
        name: name.to_owned(),
        ours,
        theirs,
        unit: "s",
        ratio,
        target: format!("≥ {target}× less"),
        met: ratio.is_some_and(|ratio| ratio >= target),
        note,
    }
}

/// Starts a job on `sandbox` and returns its output's asset id and signed URL.
fn an_output(bins: &Bins, sandbox: &SandboxProcess) -> Fallible<(String, String)> {
    let output = |args: &[&str]| -> Fallible<Value> {
        let out = bins
            .kling(sandbox, args)
            .output()
            .map_err(|error| error.to_string())?;
        serde_json::from_slice(&out.stdout).map_err(|error| {
            format!(
                "kling {}: {error}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    };
    let job = output(&["--json", "generate", "--prompt", "a big one", "--no-wait"])?;
    let job_id = job["jobId"].as_str().ok_or("no job id")?.to_owned();
    // A 0-second job: done at once.
    let job = output(&["--json", "jobs", "get", &job_id])?;
    let asset_id = job["metadata"]["assetIds"][0]
        .as_str()
        .ok_or("no asset")?
        .to_owned();
    let asset = output(&["--json", "assets", "get", &asset_id])?;
    Ok((asset_id, asset["url"].as_str().ok_or("no url")?.to_owned()))
}

/// 2. Download throughput of 1 GiB against `curl -o`; peak RSS, flat from 64 MiB to 4 GiB.
fn bench_download(bins: &Bins, _python: Option<&Path>) -> Fallible<Vec<Row>> {
    let bench = DownloadBench::start(bins)?;
    let throughput = bench.throughput()?;
    let rss = bench.peak_rss()?;
    let placement = if bench.pinned {
        "the sandbox on CPU 0, each download on CPU 1 (`taskset`)"
    } else {
        "sandbox and downloads not pinned to CPUs (one CPU, or no `taskset`)"
    };
    Ok(download_rows(throughput, rss, placement))
}

/// A gibibyte: the size of the download bench's main file.
const GIB: u64 = 1 << 30;

/// The download bench's servers (one per file size) and the ways it downloads.
struct DownloadBench<'a> {
    bins: &'a Bins,
    big: SandboxProcess,
    small: SandboxProcess,
    huge: SandboxProcess,
    /// The assets of 1 GiB, 64 MiB and 4 GiB, and the 1 GiB one's URL (for curl).
    big_asset: String,
    small_asset: String,
    huge_asset: String,
    big_url: String,
    /// Where every download goes (removed after each).
    file: PathBuf,
    client_cpu: Option<&'static str>,
    pinned: bool,
}

impl<'a> DownloadBench<'a> {
    /// Starts the three sandboxes (64 MiB, 1 GiB and 4 GiB outputs) and makes one
    /// output on each.
    fn start(bins: &'a Bins) -> Fallible<Self> {
        // The sandbox on one CPU, the downloads on the other: left to itself, the scheduler
        // at times put the sandbox and a fast client on one CPU, which halved kling's
        // throughput for whole runs (578-2369 MiB/s in one bench; curl, itself the slower
        // end, barely noticed).
        let cpus = two_cpus();
        let server_cpu = cpus.map(|(server, _)| server);
        let sized = |bytes: u64| {
            SandboxProcess::start_on(
                &bins.sandbox,
                &["--job-seconds", "0", "--output-size", &bytes.to_string()],
                server_cpu,
            )
        };
        let big = sized(GIB)?;
        let (small, huge) = (sized(64 << 20)?, sized(4 * GIB)?);
        let (big_asset, big_url) = an_output(bins, &big)?;
        let (small_asset, _) = an_output(bins, &small)?;
        let (huge_asset, _) = an_output(bins, &huge)?;
        Ok(Self {
            bins,
            big,
            small,
            huge,
            big_asset,
            small_asset,
            huge_asset,
            big_url,
            file: bins.dir.join("download.bin"),
            client_cpu: cpus.map(|(_, client)| client),
            pinned: cpus.is_some(),
        })
    }

    /// `kling assets download` of `asset` with `flags`.
    fn kling(&self, sandbox: &SandboxProcess, asset: &str, flags: &[&str]) -> Command {
        let mut command = self
            .bins
            .kling(sandbox, &["assets", "download", asset, "-q"]);
        command.args(flags).arg("-o").arg(&self.file);
        command
    }

    /// The 1 GiB file as curl fetches it, bytes into a file (`--no-fsync --no-record`),
    /// and durable (`--no-record`): the same work as `curl -o`, `curl -o && sync`.
    fn fast(&self) -> Command {
        self.kling(&self.big, &self.big_asset, &["--no-fsync", "--no-record"])
    }

    fn durable(&self) -> Command {
        self.kling(&self.big, &self.big_asset, &["--no-record"])
    }

    /// The default: durable, with its record (the file's SHA-256, taken as it is
    /// written; the job looked up; the poster).
    fn recorded(&self) -> Command {
        self.kling(&self.big, &self.big_asset, &[])
    }

    fn curl(&self) -> Command {
        let mut command = Command::new("curl");
        command
            .args(["-s", "-f", "-o"])
            .arg(&self.file)
            .arg(&self.big_url);
        command
    }

    /// On equal footing with `durable`: curl, then the file flushed to disk.
    fn curl_synced(&self) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!(
            "curl -s -f -o '{0}' '{1}' && sync '{0}'",
            self.file.display(),
            self.big_url
        ));
        command
    }

    /// On equal footing with the default: a durable file and its SHA-256, with the
    /// fastest SHA-256 at hand (`openssl dgst`: SHA-NI where the CPU has it; coreutils'
    /// `sha256sum` ran at a fifth of its speed here).
    fn curl_synced_hashed(&self) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!(
            "curl -s -f -o '{0}' '{1}' && sync '{0}' && {2} '{0}' >/dev/null",
            self.file.display(),
            self.big_url,
            sha256_tool()
        ));
        command
    }

    /// One run, on the client's CPU; every run starts with no file at the target.
    fn run(&self, command: Command, sample_rss: bool) -> Fallible<Measured> {
        let measured = run_measured(&mut on_cpu(command, self.client_cpu), sample_rss);
        let _ = std::fs::remove_file(&self.file);
        measured
    }

    /// MiB/s of one run of the 1 GiB file.
    fn speed(&self, command: Command) -> Fallible<f64> {
        let run = self.run(command, false)?;
        Ok(GIB as f64 / run.wall / (1 << 20) as f64)
    }

    /// Throughput: the four ways in turn, so that a slow spell of this shared machine
    /// falls on all of them; no RSS sampling (it slows what it watches).
    fn throughput(&self) -> Fallible<Throughput> {
        // Before measuring: what the release build (or an earlier section) left to write
        // back goes to disk, and one unmeasured round warms the sandbox and the page cache.
        // Without it the first two rounds after a build ran at a third of the speed of the
        // rest (kling 554 and 891 MiB/s, then about 2200).
        let _ = Command::new("sync").status();
        let ways = [
            self.fast(),
            self.curl(),
            self.durable(),
            self.curl_synced(),
            self.recorded(),
            self.curl_synced_hashed(),
        ];
        for command in ways {
            self.run(command, false)?;
        }
        let mut speeds = Throughput::default();
        for _ in 0..THROUGHPUT_RUNS {
            let fast = self.speed(self.fast())?;
            let curl = self.speed(self.curl())?;
            let durable = self.speed(self.durable())?;
            let curl_synced = self.speed(self.curl_synced())?;
            let recorded = self.speed(self.recorded())?;
            let curl_hashed = self.speed(self.curl_synced_hashed())?;
            speeds.fast.push(fast);
            speeds.curl.push(curl);
            speeds.durable.push(durable);
            speeds.curl_synced.push(curl_synced);
            speeds.recorded.push(recorded);
            speeds.curl_hashed.push(curl_hashed);
            speeds.fast_pairs.push(fast / curl);
            speeds.durable_pairs.push(durable / curl_synced);
            speeds.recorded_pairs.push(recorded / curl_hashed);
        }
        Ok(speeds)
    }

    /// Peak RSS, in runs of their own, sampled.
    fn peak_rss(&self) -> Fallible<PeakRss> {
        let mut rss = PeakRss::default();
        for _ in 0..RSS_RUNS {
            rss.big.push(self.run(self.recorded(), true)?.peak_rss_mib);
            rss.curl.push(self.run(self.curl(), true)?.peak_rss_mib);
            let small = self.kling(&self.small, &self.small_asset, &[]);
            rss.small.push(self.run(small, true)?.peak_rss_mib);
            let huge = self.kling(&self.huge, &self.huge_asset, &[]);
            rss.huge.push(self.run(huge, true)?.peak_rss_mib);
        }
        Ok(rss)
    }
}

/// The download bench's speeds (MiB/s) of each run.
#[derive(Default)]
struct Throughput {
    fast: Vec<f64>,
    curl: Vec<f64>,
    durable: Vec<f64>,
    curl_synced: Vec<f64>,
    recorded: Vec<f64>,
    curl_hashed: Vec<f64>,
    /// Each run of ours next to one of curl's: the ratio judged is the median of these
    /// run-by-run ratios, which a slow spell of the host (hitting both) leaves alone,
    /// where the ratio of the two medians can swing by 20% from one bench to the next.
    fast_pairs: Vec<f64>,
    durable_pairs: Vec<f64>,
    recorded_pairs: Vec<f64>,
}

/// The SHA-256 command the bench compares with: `openssl dgst -sha256`, else coreutils.
fn sha256_tool() -> &'static str {
    let openssl = Command::new("openssl")
        .args(["version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if openssl {
        "openssl dgst -sha256"
    } else {
        "sha256sum"
    }
}

/// The download bench's peak RSS (MiB) of each run: ours of 1 GiB, 64 MiB and 4 GiB,
/// and curl's of 1 GiB.
#[derive(Default)]
struct PeakRss {
    big: Vec<f64>,
    small: Vec<f64>,
    huge: Vec<f64>,
    curl: Vec<f64>,
}

/// The download bench's rows: its medians against their targets.
fn download_rows(mut speeds: Throughput, mut rss: PeakRss, placement: &str) -> Vec<Row> {
    let (fast_ratio, durable_ratio, recorded_ratio) = (
        median(&mut speeds.fast_pairs),
        median(&mut speeds.durable_pairs),
        median(&mut speeds.recorded_pairs),
    );
    let note = format!(
        "bytes into a file, as curl: `kling assets download --no-fsync --no-record`; ours {}; curl {}; the ratio is the median of the {} run-by-run ratios ({}); {placement}",
        spread(&speeds.fast, "MiB/s"),
        spread(&speeds.curl, "MiB/s"),
        speeds.fast_pairs.len(),
        spread(&speeds.fast_pairs, "×"),
    );
    let durable_note = format!(
        "`--no-record`: the file reaches the disk before it gets its name; ours {}; curl + sync {}; \
         the ratio is the median of the {} run-by-run ratios ({})",
        spread(&speeds.durable, "MiB/s"),
        spread(&speeds.curl_synced, "MiB/s"),
        speeds.durable_pairs.len(),
        spread(&speeds.durable_pairs, "×"),
    );
    let recorded_note = format!(
        "the default: durable, and its record (the SHA-256 taken as the file is written, the job \
         looked up, the poster fetched) against a durable file and its SHA-256 by `{}`; ours {}; \
         theirs {}; the ratio is the median of the {} run-by-run ratios ({})",
        sha256_tool(),
        spread(&speeds.recorded, "MiB/s"),
        spread(&speeds.curl_hashed, "MiB/s"),
        speeds.recorded_pairs.len(),
        spread(&speeds.recorded_pairs, "×"),
    );
    let (fast, curl) = (median(&mut speeds.fast), median(&mut speeds.curl));
    let (durable, curl_synced) = (median(&mut speeds.durable), median(&mut speeds.curl_synced));
    let (recorded, curl_hashed) = (
        median(&mut speeds.recorded),
        median(&mut speeds.curl_hashed),
    );
    let mut rows = vec![
        Row {
            name: "download 1 GiB (`--no-fsync --no-record`) vs `curl -o`: throughput".into(),
            ours: fast,
            theirs: Some(curl),
            unit: "MiB/s",
            ratio: Some(fast_ratio),
            target: "≥ 0.95× curl".into(),
            met: fast_ratio >= 0.95,
            note,
        },
        Row {
            name: "download 1 GiB (durable, `--no-record`) vs `curl -o && sync`".into(),
            ours: durable,
            theirs: Some(curl_synced),
            unit: "MiB/s",
            ratio: Some(durable_ratio),
            target: "≥ 0.95× curl + sync".into(),
            met: durable_ratio >= 0.95,
            note: durable_note,
        },
        Row {
            name:
                "download 1 GiB (default: durable, with its record) vs `curl -o && sync && SHA-256`"
                    .into(),
            ours: recorded,
            theirs: Some(curl_hashed),
            unit: "MiB/s",
            ratio: Some(recorded_ratio),
            target: "≥ 0.95× curl + sync + SHA-256".into(),
            met: recorded_ratio >= 0.95,
            note: recorded_note,
        },
    ];
    rows.extend(rss_rows(&mut rss));
    rows
}

/// The download bench's rows of peak RSS: of 1 GiB, and its growth with the file's size.
fn rss_rows(rss: &mut PeakRss) -> [Row; 2] {
    let (big, small, huge, curl) = (
        median(&mut rss.big),
        median(&mut rss.small),
        median(&mut rss.huge),
        median(&mut rss.curl),
    );
    // Flat: no more than 0.1% of the extra bytes (4 MiB for 64× them); what stays is
    // the allocator's and the blocking pool's few MiB, which do not grow with the file.
    let growth = big.max(huge).max(small) - big.min(huge).min(small);
    [
        Row {
            name: "download 1 GiB: peak RSS".into(),
            ours: big,
            theirs: Some(curl),
            unit: "MiB",
            ratio: None,
            target: "≤ 16 MiB".into(),
            met: big <= 16.0,
            note: "the whole `kling assets download` process; curl for reference".to_owned(),
        },
        Row {
            name: "download peak RSS, 64 MiB → 1 GiB → 4 GiB: largest − smallest".into(),
            ours: growth,
            theirs: None,
            unit: "MiB",
            ratio: None,
            target: "flat: ≤ 4 MiB for 64× the bytes (0.1% of them)".into(),
            met: growth <= 4.0,
            note: format!(
                "medians of {RSS_RUNS} runs: {small:.1} MiB for 64 MiB, {big:.1} MiB for 1 GiB, \
                 {huge:.1} MiB for 4 GiB"
            ),
        },
    ]
}

/// 3. Cold start: `kling --help` against `python -c "import scenario_sdk"`.
fn bench_cold_start(bins: &Bins, python: Option<&Path>) -> Fallible<Vec<Row>> {
    let time = |command: &mut Command| -> Fallible<f64> {
        let started = Instant::now();
        let status = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|error| error.to_string())?;
        status
            .success()
            .then(|| started.elapsed().as_secs_f64() * 1000.0)
            .ok_or_else(|| format!("{command:?} failed"))
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        ours.push(time(Command::new(&bins.kling).arg("--help"))?);
        if let Some(python) = python {
            theirs.push(time(
                Command::new(python).args(["-c", "import scenario_sdk"]),
            )?);
        }
    }
    let mut row = times_row(
        "cold start: `kling --help` vs `import scenario_sdk`",
        &mut ours,
        &mut theirs,
        50.0,
    );
    row.unit = "ms";
    row.note = row.note.replace(" s ", " ms ");
    Ok(vec![row])
}

/// 4. `cargo xtask codegen` (after build) for 1 and for 100 models.
fn bench_codegen(bins: &Bins, _python: Option<&Path>) -> Fallible<Vec<Row>> {
    let root = codegen::workspace_root();
    let kling = std::fs::read_to_string(root.join("schema/models/model_kling-v1-6-pro.json"))
        .map_err(|error| error.to_string())?;
    let mut rows = Vec::new();
    for (count, target) in [(1usize, 0.5), (100, 5.0)] {
        let tree = bins.dir.join(format!("codegen-{count}"));
        let _ = std::fs::remove_dir_all(&tree);
        for sub in ["schema/models", "schema/api", "crates/kling-types"] {
            std::fs::create_dir_all(tree.join(sub)).map_err(|error| error.to_string())?;
        }
        for entry in
            std::fs::read_dir(root.join("schema/api")).map_err(|error| error.to_string())?
        {
            let entry = entry.map_err(|error| error.to_string())?;
            std::fs::copy(
                entry.path(),
                tree.join("schema/api").join(entry.file_name()),
            )
            .map_err(|error| error.to_string())?;
        }
        std::fs::copy(
            root.join("crates/kling-types/Cargo.toml"),
            tree.join("crates/kling-types/Cargo.toml"),
        )
        .map_err(|error| error.to_string())?;
        for n in 0..count {
            // Synthetic models: Kling's parameters under other ids and names.
            let id = if n == 0 {
                KLING.to_owned()
            } else {
                format!("model_synthetic-{n:03}")
            };
            let schema = kling.replace(KLING, &id).replace(
                "\"title\": \"Kling 1.6 Pro\"",
                &format!("\"title\": \"Synthetic {n:03}\""),
            );
            let schema = if n == 0 { kling.clone() } else { schema };
            std::fs::write(tree.join(format!("schema/models/{id}.json")), schema)
                .map_err(|error| error.to_string())?;
        }
        let mut times = Vec::new();
        for _ in 0..3 {
            let _ = std::fs::remove_dir_all(tree.join("crates/kling-types/src"));
            let started = Instant::now();
            codegen::run_at(&tree, codegen::Mode::Write).map_err(|error| error.to_string())?;
            times.push(started.elapsed().as_secs_f64());
        }
        let note = spread(&times, "s");
        let seconds = median(&mut times);
        rows.push(Row {
            name: format!(
                "cargo xtask codegen, {count} model{}",
                if count == 1 { "" } else { "s" }
            ),
            ours: seconds,
            theirs: None,
            unit: "s",
            ratio: None,
            target: format!("≤ {target} s"),
            met: seconds <= target,
            note,
        });
        let _ = std::fs::remove_dir_all(&tree);
    }
    Ok(rows)
}

const PY_BATCH: &str = r#"import asyncio, sys, httpx
from scenario_sdk import AsyncScenario
base, count, concurrency, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
async def main():
    client = AsyncScenario(api_key="sandbox-key", api_secret="sandbox-secret", base_url=base)
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as http:
        async def one(n):
            async with limit:
                job = (await client.generate.run_model(model_id="model_kling-v1-6-pro", body={"prompt": f"clip {n}"})).job
                while True:
                    job = (await client.jobs.retrieve(job_id=job.job_id)).job
                    if job.status in ("success", "failure", "canceled"):
                        break
                    await asyncio.sleep(0.2)
                asset = (await client.assets.retrieve(asset_id=job.metadata.asset_ids[0])).asset
                response = await http.get(asset.url)
                with open(f"{out}/{n}.mp4", "wb") as file:
                    file.write(response.content)
        await asyncio.gather(*(one(n) for n in range(count)))
asyncio.run(main())
"#;

/// 5. `kling batch` of 1000 jobs of 2 s, 64 at a time, against the ideal and Python.
fn bench_batch(bins: &Bins, python: Option<&Path>) -> Fallible<Vec<Row>> {
    const JOBS: usize = 1000;
    const CONCURRENCY: usize = 64;
    let ideal = JOBS.div_ceil(CONCURRENCY) as f64 * 2.0;
    let lines: String = (0..JOBS)
        .map(|n| format!("{{\"prompt\": \"clip {n}\", \"name\": \"clip-{n:04}\"}}\n"))
        .collect();
    let file = write_script(&bins.dir, "batch.jsonl", &lines)?;
    let out = bins.dir.join("batch-out");
    let _ = std::fs::remove_dir_all(&out);
    let sandbox = SandboxProcess::start(&bins.sandbox, &["--job-seconds", "2"])?;
    let ours = measure(
        bins.kling(
            &sandbox,
            &[
                "batch",
                "-q",
                "--concurrency",
                &CONCURRENCY.to_string(),
                "--out",
            ],
        )
        .arg(&out)
        .arg(&file),
    )?;
    let _ = std::fs::remove_dir_all(&out);
    drop(sandbox);
    let theirs = match python {
        Some(python) => {
            let sandbox = SandboxProcess::start(&bins.sandbox, &["--job-seconds", "2"])?;
            std::fs::create_dir_all(&out).map_err(|error| error.to_string())?;
            let script = write_script(&bins.dir, "batch.py", PY_BATCH)?;
            let run = measure(
                Command::new(python)
                    .arg(&script)
                    .arg(&sandbox.base_url)
                    .arg(JOBS.to_string())
                    .arg(CONCURRENCY.to_string())
                    .arg(&out),
            )?;
            let _ = std::fs::remove_dir_all(&out);
            Some(run)
        }
        None => None,
    };
    Ok(vec![
        Row {
            name: format!("batch of {JOBS} × 2 s jobs, {CONCURRENCY} at a time: wall"),
            ours: ours.wall,
            theirs: theirs.map(|run| run.wall),
            unit: "s",
            ratio: Some(ours.wall / ideal),
            target: format!("≤ 1.1× ideal ({ideal:.0} s)"),
            met: ours.wall <= 1.1 * ideal,
            note: format!(
                "ratio is ours over the ideal; CPU ours {:.1} s{}",
                ours.cpu,
                theirs
                    .map(|run| format!(
                        ", Python asyncio {:.1} s (wall {:.1}× the ideal)",
                        run.cpu,
                        run.wall / ideal
                    ))
                    .unwrap_or_default()
            ),
        },
        Row {
            name: "batch: peak RSS".into(),
            ours: ours.peak_rss_mib,
            theirs: theirs.map(|run| run.peak_rss_mib),
            unit: "MiB",
            ratio: None,
            target: "≤ 64 MiB".into(),
            met: ours.peak_rss_mib <= 64.0,
            note: String::new(),
        },
    ])
}

/// What the sandbox saw of a run: requests by kind, from its `/_sandbox/log`.
#[derive(Debug, Default)]
struct Seen {
    /// `GET /v1/jobs` (each page) and `GET /v1/jobs/{id}`.
    status_requests: usize,
    submits: usize,
    /// Generates refused for the team's parallel-job limit.
    refused: usize,
    jobs: usize,
}

fn seen(sandbox: &SandboxProcess) -> Fallible<Seen> {
    let origin = sandbox.base_url.trim_end_matches("/v1");
    let output = Command::new("curl")
        .args(["-sf", &format!("{origin}/_sandbox/log")])
        .output()
        .map_err(|error| format!("cannot run curl: {error}"))?;
    let log: Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("the sandbox's log is not JSON: {error}"))?;
    let mut seen = Seen {
        jobs: log["jobs"].as_array().map_or(0, Vec::len),
        ..Seen::default()
    };
    for request in log["requests"].as_array().into_iter().flatten() {
        let (method, path) = (
            request["method"].as_str(),
            request["path"].as_str().unwrap_or(""),
        );
        match method {
            Some("GET") if path == "/v1/jobs" || path.starts_with("/v1/jobs/") => {
                seen.status_requests += 1;
            }
            Some("POST") if path.starts_with("/v1/generate/") => {
                seen.submits += 1;
                if request["status"] == 429 {
                    seen.refused += 1;
                }
            }
            _ => {}
        }
    }
    Ok(seen)
}

/// A batch file of `jobs` distinct 5-second requests.
fn batch_lines(bins: &Bins, name: &str, jobs: usize) -> Fallible<PathBuf> {
    let lines: String = (0..jobs)
        .map(|n| format!("{{\"prompt\": \"clip {n}\", \"name\": \"clip-{n:05}\"}}\n"))
        .collect();
    write_script(&bins.dir, name, &lines)
}

/// One `kling batch -q` of `file` against a fresh sandbox started with `sandbox_args`:
/// the run and what the sandbox saw. `env` is set for kling (`KLING_BATCH_WATCH`).
fn batch_run(
    bins: &Bins,
    kling: &Path,
    file: &Path,
    concurrency: usize,
    sandbox_args: &[&str],
    env: &[(&str, &str)],
) -> Fallible<(Measured, Seen)> {
    let out = bins.dir.join("batch-scale-out");
    let _ = std::fs::remove_dir_all(&out);
    let sandbox = SandboxProcess::start(&bins.sandbox, sandbox_args)?;
    let concurrency = concurrency.to_string();
    let mut run = bins.kling_at(
        kling,
        &sandbox,
        &["batch", "-q", "--concurrency", &concurrency, "--out"],
    );
    run.arg(&out).arg(file).envs(env.iter().copied());
    let measured = if kling == bins.kling {
        measure(&mut run)
    } else {
        // Today's kling may end with lines not done: that is what is measured.
        run_process(&mut run, true).map(|(measured, _, _)| measured)
    };
    let seen = seen(&sandbox);
    let _ = std::fs::remove_dir_all(&out);
    drop(sandbox);
    Ok((measured?, seen?))
}

/// The kling to compare with, when `KLING_BENCH_BASELINE` names one (a build of an
/// earlier commit: "today's behaviour" in a before/after).
fn baseline() -> Option<PathBuf> {
    std::env::var_os("KLING_BENCH_BASELINE").map(PathBuf::from)
}

/// 5b. `kling batch` at scale: status requests per job with one job-list poll per tick
/// (against each job polled alone, side by side), a team's parallel-job limit under a
/// large `--concurrency`, and 10,000 jobs at 256 in flight.
fn bench_batch_scale(bins: &Bins, _python: Option<&Path>) -> Fallible<Vec<Row>> {
    let mut rows = vec![batch_one_poll_for_many(bins)?];
    rows.extend(batch_under_a_team_limit(bins)?);
    rows.extend(batch_of_ten_thousand(bins)?);
    Ok(rows)
}

/// Batch scale, one poll for many: status requests per job against each job polled
/// alone (`KLING_BATCH_WATCH=each`, the way before the job board).
fn batch_one_poll_for_many(bins: &Bins) -> Fallible<Row> {
    const JOBS: usize = 1000;
    const CONCURRENCY: usize = 64;
    let file = batch_lines(bins, "scale-1000.jsonl", JOBS)?;
    let sandbox = ["--job-seconds", "2"];
    let (board, board_seen) = batch_run(bins, &bins.kling, &file, CONCURRENCY, &sandbox, &[])?;
    let (each, each_seen) = batch_run(
        bins,
        &bins.kling,
        &file,
        CONCURRENCY,
        &sandbox,
        &[("KLING_BATCH_WATCH", "each")],
    )?;
    let per_job = |seen: &Seen| seen.status_requests as f64 / JOBS as f64;
    let fewer = per_job(&each_seen) / per_job(&board_seen).max(f64::MIN_POSITIVE);
    Ok(Row {
        name: format!(
            "batch of {JOBS} × 2 s jobs, {CONCURRENCY} in flight: status requests per job"
        ),
        ours: per_job(&board_seen),
        theirs: Some(per_job(&each_seen)),
        unit: "",
        ratio: Some(fewer),
        target: "≥ 10× fewer than each job polled alone, ends seen no later (wall ≤ 1.02×)".into(),
        met: fewer >= 10.0 && board.wall <= each.wall * 1.02,
        note: format!(
            "theirs: each job polled alone (KLING_BATCH_WATCH=each, how kling batch waited before); wall {:.1} s vs {:.1} s (ideal {:.0} s)",
            board.wall,
            each.wall,
            JOBS.div_ceil(CONCURRENCY) as f64 * 2.0
        ),
    })
}

/// Batch scale under a team limit of 5 parallel jobs, `--concurrency 32`: the wall
/// against the ideal, and the share of submits refused with a 429.
fn batch_under_a_team_limit(bins: &Bins) -> Fallible<[Row; 2]> {
    const JOBS: usize = 200;
    const LIMIT: usize = 5;
    let ideal = JOBS.div_ceil(LIMIT) as f64 * 2.0;
    let file = batch_lines(bins, "scale-200.jsonl", JOBS)?;
    let sandbox = ["--job-seconds", "2", "--parallel-jobs", "5"];
    let (ours, seen) = batch_run(bins, &bins.kling, &file, 32, &sandbox, &[])?;
    let before = baseline()
        .map(|kling| batch_run(bins, &kling, &file, 32, &sandbox, &[]))
        .transpose()?;
    let share = |seen: &Seen| seen.refused as f64 / seen.submits.max(1) as f64;
    let wall = Row {
        name: format!("batch of {JOBS} × 2 s jobs, --concurrency 32, team limit {LIMIT}: wall"),
        ours: ours.wall,
        theirs: before.as_ref().map(|(run, _)| run.wall),
        unit: "s",
        ratio: Some(ours.wall / ideal),
        target: format!(
            "≤ 1.15× ideal ({ideal:.0} s: {} rounds)",
            JOBS.div_ceil(LIMIT)
        ),
        met: ours.wall <= 1.15 * ideal && seen.jobs == JOBS,
        note: format!(
            "ratio is ours over the ideal; {} jobs for {JOBS} lines{}",
            seen.jobs,
            before
                .as_ref()
                .map(|(_, seen)| format!(
                    "; theirs: KLING_BENCH_BASELINE (the kling before this change), {} jobs for {JOBS} lines in one run, {} of {} submits refused",
                    seen.jobs, seen.refused, seen.submits
                ))
                .unwrap_or_default()
        ),
    };
    let refusals = Row {
        name: format!("… 429 answers per submit (team limit {LIMIT})"),
        ours: share(&seen),
        theirs: before.as_ref().map(|(_, seen)| share(seen)),
        unit: "",
        ratio: None,
        target: "≤ 0.05".into(),
        met: share(&seen) <= 0.05,
        note: format!("{} refused of {} submits", seen.refused, seen.submits),
    };
    Ok([wall, refusals])
}

/// Batch scale, 10,000 jobs with 256 in flight: the wall against the ideal, and peak RSS.
fn batch_of_ten_thousand(bins: &Bins) -> Fallible<[Row; 2]> {
    const JOBS: usize = 10_000;
    const CONCURRENCY: usize = 256;
    let ideal = JOBS.div_ceil(CONCURRENCY) as f64 * 2.0;
    let file = batch_lines(bins, "scale-10000.jsonl", JOBS)?;
    let (ours, seen) = batch_run(
        bins,
        &bins.kling,
        &file,
        CONCURRENCY,
        &["--job-seconds", "2"],
        &[],
    )?;
    let wall = Row {
        name: format!("batch of {JOBS} × 2 s jobs, {CONCURRENCY} in flight: wall"),
        ours: ours.wall,
        theirs: None,
        unit: "s",
        ratio: Some(ours.wall / ideal),
        target: format!("≤ 1.05× ideal ({ideal:.0} s)"),
        met: ours.wall <= 1.05 * ideal && seen.jobs == JOBS,
        note: format!(
            "ratio is ours over the ideal; CPU {:.1} s; {:.2} status requests per job",
            ours.cpu,
            seen.status_requests as f64 / JOBS as f64
        ),
    };
    let peak_rss = Row {
        name: format!("batch of {JOBS} jobs: peak RSS"),
        ours: ours.peak_rss_mib,
        theirs: None,
        unit: "MiB",
        ratio: None,
        target: "≤ 32 MiB".into(),
        met: ours.peak_rss_mib <= 32.0,
        note: String::new(),
    };
    Ok([wall, peak_rss])
}

/// Asks for the job every `pause` until it has ended: fixed polling, the baseline of
/// `bench_polling`.
async fn poll_until_ended(
    client: &kling_client::Client,
    job_id: &kling_types::JobId,
    pause: Duration,
) -> Fallible<()> {
    loop {
        let job = client
            .job(job_id)
            .await
            .map_err(|error| error.to_string())?;
        if job.status.is_terminal() {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
    }
}

/// Row 6, polling a 5-minute job with the sandbox clock 60 times faster and the
/// client's pauses scaled alike: requests made and how late the end is seen, against
/// fixed 1-second polling.
fn bench_polling(_bins: &Bins, _python: Option<&Path>) -> Fallible<Vec<Row>> {
    const SPEED: f64 = 60.0;
    const JOB_SECONDS: f64 = 300.0;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let config = kling_sandbox::SandboxConfig::default()
            .with_job_duration(Duration::from_secs_f64(JOB_SECONDS))
            .with_clock_speed(SPEED);
        let sandbox = kling_sandbox::Sandbox::start(config)
            .await
            .map_err(|error| error.to_string())?;
        let client = kling_client::Client::new(kling_client::Credentials::new(
            "sandbox-key",
            "sandbox-secret",
        ))
        .with_base_url(sandbox.base_url());
        let request = kling_types::kling_v1_6_pro::Kling16ProRequest::new("a slow one");
        let (mut ours_requests, mut ours_lag, mut fixed_requests, mut fixed_lag) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let job_real = Duration::from_secs_f64(JOB_SECONDS / SPEED);
        let polls = |job_id: &str| {
            sandbox
                .requests()
                .iter()
                .filter(|record| {
                    record.method == "GET" && record.path == format!("/v1/jobs/{job_id}")
                })
                .count() as f64
        };
        for _ in 0..3 {
            let submitted = client
                .submit(&request)
                .await
                .map_err(|error| error.to_string())?;
            let created = Instant::now();
            let options = kling_client::WaitOptions::default().scaled(SPEED);
            client
                .wait(submitted.job_id(), options)
                .await
                .map_err(|error| error.to_string())?;
            ours_lag.push(created.elapsed().saturating_sub(job_real).as_secs_f64() * SPEED);
            ours_requests.push(polls(submitted.job_id().as_str()));

            let submitted = client
                .submit(&request)
                .await
                .map_err(|error| error.to_string())?;
            let created = Instant::now();
            poll_until_ended(
                &client,
                submitted.job_id(),
                Duration::from_secs_f64(1.0 / SPEED),
            )
            .await?;
            fixed_lag.push(created.elapsed().saturating_sub(job_real).as_secs_f64() * SPEED);
            fixed_requests.push(polls(submitted.job_id().as_str()));
        }
        let lag_limit = (0.05 * JOB_SECONDS).max(1.0);
        let requests_note = format!(
            "ours {}; fixed 1 s {}",
            spread(&ours_requests, "requests"),
            spread(&fixed_requests, "requests")
        );
        let lag_note = format!(
            "in the job's time; ours {}; fixed 1 s {}",
            spread(&ours_lag, "s"),
            spread(&fixed_lag, "s")
        );
        let (requests, fixed) = (median(&mut ours_requests), median(&mut fixed_requests));
        let (lag, fixed_lag) = (median(&mut ours_lag), median(&mut fixed_lag));
        Ok(vec![
            Row {
                name: "polling a 5-minute job: requests".into(),
                ours: requests,
                theirs: Some(fixed),
                unit: "requests",
                ratio: Some(fixed / requests),
                target: "≤ 40".into(),
                met: requests <= 40.0,
                note: requests_note,
            },
            Row {
                name: "polling a 5-minute job: end seen late by".into(),
                ours: lag,
                theirs: Some(fixed_lag),
                unit: "s",
                ratio: None,
                target: format!("≤ {lag_limit:.0} s (max(1 s, 5%))"),
                met: lag <= lag_limit,
                note: lag_note,
            },
        ])
    })
}

/// Cargo's own release profile, as environment overrides of each key the workspace's
/// `[profile.release]` sets: the build `kling` had before it had a profile.
const CARGO_DEFAULT_RELEASE: [(&str, &str); 3] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_STRIP", "none"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
];

/// The install (section 8): the clean build of the README's first command (its `cargo run
/// --release`, built alone) with the workspace's release profile and with cargo's
/// default one, and the release `kling`'s size with and without the sandbox. Each build
/// starts from nothing (its own fresh `CARGO_TARGET_DIR`) in a clone of HEAD, so the
/// work tree's edits neither count nor disturb it; the registry is already downloaded.
fn bench_packaging(bins: &Bins, _python: Option<&Path>) -> Fallible<Vec<Row>> {
    let root = codegen::workspace_root();
    let commit = git(&root, &["rev-parse", "HEAD"])?;
    let clone = bins.dir.join("packaging-clone");
    let _ = std::fs::remove_dir_all(&clone);
    let clone_arg = clone.to_string_lossy().into_owned();
    git(
        &root,
        &["clone", "--quiet", "--no-checkout", ".", &clone_arg],
    )?;
    git(&clone, &["checkout", "--quiet", "--detach", &commit])?;
    let build = |name: &str, folder: &str, features: &[&str], overrides: &[(&str, &str)]| {
        ReleaseBuild {
            bins,
            clone: &clone,
            name,
            folder,
            features,
            overrides,
        }
        .run()
    };
    let before = build(
        "cargo's default profile",
        "before",
        &[],
        &CARGO_DEFAULT_RELEASE,
    )?;
    let ours = build("the workspace's profile", "ours", &[], &[])?;
    let lean = build(
        "the workspace's profile, --no-default-features",
        "lean",
        &["--no-default-features"],
        &[],
    )?;
    let _ = std::fs::remove_dir_all(&clone);
    let short = commit.get(..7).unwrap_or(&commit);
    Ok(packaging_rows(short, &before, &ours, &lean))
}

/// `git ARGS` in `dir`: its output, trimmed.
fn git(dir: &Path, args: &[&str]) -> Fallible<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run git: {error}"))?;
    if !output.status.success() {
        return Err(format!("git {} failed", args.join(" ")));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// One clean release build of `kling-cli` in the packaging bench's clone, in a fresh
/// target folder of its own (removed after).
struct ReleaseBuild<'a> {
    bins: &'a Bins,
    clone: &'a Path,
    /// What is built, for the progress line.
    name: &'a str,
    /// The target folder's name: `packaging-FOLDER`.
    folder: &'a str,
    features: &'a [&'a str],
    /// Environment variables that change the profile.
    overrides: &'a [(&'a str, &'a str)],
}

/// What a [`ReleaseBuild`] took and made.
struct Built {
    /// Seconds.
    wall: f64,
    /// The binary's size in MiB.
    size: f64,
}

impl ReleaseBuild<'_> {
    #[expect(clippy::print_stderr, reason = "progress of a long task")]
    fn run(&self) -> Fallible<Built> {
        const MIB: f64 = 1024.0 * 1024.0;
        let name = self.name;
        let target = self.bins.dir.join(format!("packaging-{}", self.folder));
        let _ = std::fs::remove_dir_all(&target);
        eprintln!("bench: packaging: a clean release build, {name}");
        let started = Instant::now();
        let status = Command::new(cargo())
            .args([
                "build",
                "--release",
                "--locked",
                "--quiet",
                "-p",
                "kling-cli",
            ])
            .args(self.features)
            .envs(self.overrides.iter().copied())
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(self.clone)
            .status()
            .map_err(|error| format!("cannot run cargo: {error}"))?;
        let wall = started.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!("the release build ({name}) failed"));
        }
        let binary = target.join("release/kling");
        let size = std::fs::metadata(&binary)
            .map_err(|error| format!("{}: {error}", binary.display()))?
            .len();
        let _ = std::fs::remove_dir_all(&target);
        #[expect(clippy::cast_precision_loss, reason = "a size in MiB")]
        Ok(Built {
            wall,
            size: size as f64 / MIB,
        })
    }
}

/// The packaging bench's rows, of commit `short`: the lean binary's size, the default
/// one's against cargo's default profile, and the clean build's wall against it.
fn packaging_rows(short: &str, before: &Built, ours: &Built, lean: &Built) -> Vec<Row> {
    let noisy = "one clean build each, one after the other, on 2 cores shared with other \
                 builds: compare within a run";
    vec![
        Row {
            name: "release `kling` without the sandbox (`--no-default-features`): binary size"
                .to_owned(),
            ours: lean.size,
            theirs: None,
            unit: "MiB",
            ratio: None,
            target: "≤ 8 MiB".to_owned(),
            met: lean.size <= 8.0,
            note: format!(
                "the workspace's release profile, commit {short}; its clean build took {:.0} s",
                lean.wall
            ),
        },
        Row {
            name: "release `kling` with the sandbox (the default): binary size".to_owned(),
            ours: ours.size,
            theirs: Some(before.size),
            unit: "MiB",
            ratio: Some(before.size / ours.size),
            target: "smaller than before".to_owned(),
            met: ours.size < before.size,
            note: format!(
                "theirs: the same commit ({short}) with cargo's default release profile, as before \
                 `[profile.release]`"
            ),
        },
        Row {
            name: "clean build of the README's first command (`cargo build --release -p kling-cli`): wall"
                .to_owned(),
            ours: ours.wall,
            theirs: Some(before.wall),
            unit: "s",
            ratio: Some(before.wall / ours.wall),
            target: "≤ 1.1× before".to_owned(),
            met: ours.wall <= 1.1 * before.wall,
            note: format!(
                "theirs: cargo's default release profile; a fresh CARGO_TARGET_DIR each, the \
                 registry already downloaded; {noisy}"
            ),
        },
    ]
}

const TABLE_HEADER: &str =
    "| what | ours | theirs | ratio | target | met |\n|---|---|---|---|---|---|\n";

fn table(rows: &[Row]) -> String {
    let mut out = String::from(TABLE_HEADER);
    for row in rows {
        let _ = writeln!(out, "{}", table_line(row));
    }
    out
}

/// A row as a line of the Markdown table (no line end).
fn table_line(row: &Row) -> String {
    let theirs = row.theirs.map_or_else(
        || "–".to_owned(),
        |theirs| format!("{} {}", round(theirs), row.unit),
    );
    let ratio = row
        .ratio
        .map_or_else(|| "–".to_owned(), |ratio| format!("{ratio:.2}×"));
    format!(
        "| {} | {} {} | {theirs} | {ratio} | {} | {} |",
        row.name,
        round(row.ours),
        row.unit,
        row.target,
        if row.met { "yes" } else { "**no**" }
    )
}

fn round(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// What missed a target, why, and what fixed it: measured while building the bench,
/// kept here so every run of it repeats the account.
const INVESTIGATIONS: &str = "\
## Targets missed, why, and the fixes

- **Download throughput, first run: 0.36x curl** (581 vs 1595 MiB/s for 1 GiB). `/usr/bin/time`
  showed kling at 1.14 s wall but about curl's CPU time (0.7 s vs 0.5 s): waiting, not working.
  `curl -o F URL && sync F` took 1.12 s: the fsync that kling does before renaming a download into
  place (so that a power cut never leaves an empty file under the final name) cost about 0.45 s,
  and writing each 64 KiB chunk through tokio's blocking pool about 0.12 s more (a build without
  the fsync: 0.69 s). Fix: writes buffered by 1 MiB, and a background `sync_data` every 64 MiB so
  that the final fsync overlaps the download: 1.14 s -> 0.91 s with the fsync, 0.64 s without it
  (curl 0.61 s). The fsync stays the default; `--no-fsync` (or
  `Client::with_durable_downloads(false)`) skips it. Both are measured above: the default against
  `curl && sync`, `--no-fsync` against plain curl.
- **The bench itself slowed kling down**: sampling `/proc/<pid>/status` every millisecond (for the
  peak RSS) takes the process's memory-map lock, which a multi-threaded download contends for;
  the same `--no-fsync` download measured 585 MiB/s that way and 1591 MiB/s with the exit stamped
  by a waiting thread and RSS sampled every 20 ms (curl, single-threaded, barely noticed).
- **Tried and reverted: a zero-copy writer thread** (each `Bytes` chunk moved through a channel to a
  thread owning the file). User CPU fell from 0.14 s to 0.03 s per GiB, but holding chunks makes
  hyper allocate a fresh read buffer for each; system time rose to 1-2 s in two runs of three and
  peak RSS to 45-50 MiB.
- **Still 0.60x-1.00x curl after those fixes, run to run** (3 runs per way; kling 802-1584 MiB/s
  where curl stayed within 5%). `perf record` of a `--no-fsync` download: 14% of its samples in
  `memmove` (each piece copied twice: into the 1 MiB buffer, then into tokio's file buffer) and
  about 15% in wake-ups between threads: the connection ran on a runtime worker, the body was
  read by the CLI's main thread, and each write went to a blocking-pool thread. On 2 cores shared
  with the sandbox, three threads passing every piece along is what varied. `hyperfine` (8 runs,
  side by side, 1 GiB): that build 632 ms; pieces written in place with `std::fs` 596 ms; in place
  on a current-thread runtime 416 ms; curl 680 ms. Fix: each piece is written at once, from the
  buffer hyper read it into, on the task's thread (a page-cache write takes microseconds; should
  one take over 10 ms, a slow or throttled disk, the rest go through the blocking pool so the
  runtime never waits on the disk), and the CLI runs on a current-thread runtime. User CPU per
  GiB 0.19 s -> 0.02 s (curl 0.03 s). The bench also runs each way 11 times in turn, samples no
  RSS during throughput runs (RSS has runs of its own), and judges the median of the run-by-run
  ratios: one whole bench gave 0.82x as the ratio of the medians while its pairs gave 1.01x (a
  slow spell of the host, kling 990-2515 MiB/s in that run); the runs before and after gave
  1.35-1.74x. The slow runs were the first rounds after a build (554 and 891 MiB/s, then about
  2200 every time): the write-back of the build's files. The bench now runs `sync` and one
  unmeasured round first; kling's slowest run of 11 went from 554 to 2295 MiB/s. A later whole
  run still gave 0.97x (kling 578-2369 MiB/s, curl 1171-1590): kling now keeps up with the
  sandbox (its CPU time equals the download's wall time for kling, 60% of it for curl, which
  is the slower end), so kling alone suffers when the scheduler puts the sandbox and the client
  on one CPU. The bench pins the sandbox to CPU 0 and each download to CPU 1 (`taskset`): the
  run-by-run ratios then stayed within 1.17-1.85x. Peak RSS moved within
  9.7-12.7 MiB at every size (64 MiB to 4 GiB, `/usr/bin/time`), so flatness is now judged from
  64 MiB to 4 GiB against a bound of 0.1% of the extra bytes, instead of 2 MiB for 64 MiB to
  1 GiB, which the blocking pool's threads alone can cross.
- **The release `kling` without the sandbox: 10.31 MiB, target 8 MiB** (`cargo xtask bench
  packaging`, commit 42cb3d1, `[profile.release]` thin LTO + strip; with the sandbox 16.66 MiB,
  24.69 MiB with cargo's default profile). Measured once more by hand, the same lean build with
  `opt-level = \"s\"` (`CARGO_PROFILE_RELEASE_OPT_LEVEL=s cargo build --release --locked -p kling-cli
  --no-default-features` in a fresh `CARGO_TARGET_DIR`): 7.24 MiB, clean build 706 s wall (4.6 min
  of CPU) on the same shared machine. Not adopted yet: optimising for size slows the code that the
  generate, download and batch rows measure, and those rows were not re-run with it. The build
  times here were taken while other builds shared the 2 cores (load 6 to 10): the default
  profile's 1105 s against 730 s says more about the load than about thin LTO.
- **A generation's CPU time read 0.000 s** (and the ratio `inf`): `/proc/<pid>/stat` counts
  in 10 ms ticks, and `kling generate` now uses less than one. CPU times come from
  `getrusage(RUSAGE_CHILDREN)` before and after reaping each run instead (microseconds).
- **Polling, before the bench existed** (simulated against the sandbox's job timeline, then
  measured here): plain backoff from 1 s (x1.5, up to 10 s) saw a 2-second job end 0.5 s late
  (25%), which would have put a batch of such jobs at about 1.25x the ideal. The client now aims
  at the moment the job's progress reaches 100% and, once it is finalizing, looks again after 5%
  of the time waited: a 2-second job is seen about 0.1 s late, and a 5-minute one needs about 25
  requests (fixed 1-second polling: about 275).
";

/// The rows' notes (spreads and details), one Markdown list item each.
fn notes(rows: &[Row]) -> String {
    rows.iter()
        .filter(|row| !row.note.is_empty())
        .map(|row| format!("- {}: {}\n", row.name, row.note))
        .collect()
}

fn write_report(
    root: &Path,
    path: &Path,
    rows: &[Row],
    micro: &[Micro],
    python: bool,
    took: Duration,
) -> Fallible<()> {
    let report: Vec<Value> = rows.iter().map(Row::to_json).collect();
    std::fs::write(
        path,
        serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?,
    )
    .map_err(|error| format!("{}: {error}", path.display()))?;
    let facts = machine_facts();
    let notes = notes(rows);
    let text = format!(
        "# Benchmarks\n\n`cargo xtask bench` measures kling side by side with what users would pick instead, in one \
         run, against sandboxes on 127.0.0.1; this page and `target/bench/report.json` are its output. Figures are \
         medians; the spread of each is below. {}\n\n{}\n## Spread and details\n\n{notes}\n## Micro-benchmarks\n\n\
         Criterion (`cargo bench -p kling-types --bench micro`), the work done per request and per poll, \
         side by side with what an untyped client does instead. No targets: they show the typed layer \
         costs nanoseconds, against milliseconds for a request's round trip.\n\n{}\n{INVESTIGATIONS}\n## Machine\n\n{facts}- the run took {:.0} s\n",
        if python {
            "Python: the official `scenario-sdk` 2.4.0 in a venv the bench made."
        } else {
            "Python columns are empty: the bench could not install `scenario-sdk`."
        },
        table(rows),
        micro_table(micro),
        took.as_secs_f64()
    );
    std::fs::write(root.join("BENCHMARKS.md"), text)
        .map_err(|error| format!("BENCHMARKS.md: {error}"))
}

/// A partial run: its rows replace the rows of the same name in `report.json` and
/// BENCHMARKS.md (new ones are added at the end of the table and of the details), every
/// other row stays, and the machine facts gain a line dating this run's rows.
fn merge_report(
    root: &Path,
    path: &Path,
    sections: &[&str],
    rows: &[Row],
    took: Duration,
) -> Fallible<()> {
    let mut report: Vec<Value> = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    for row in rows {
        let json = row.to_json();
        match report.iter_mut().find(|old| old["name"] == json["name"]) {
            Some(old) => *old = json,
            None => report.push(json),
        }
    }
    std::fs::write(
        path,
        serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?,
    )
    .map_err(|error| format!("{}: {error}", path.display()))?;
    let page = root.join("BENCHMARKS.md");
    let text = std::fs::read_to_string(&page).map_err(|error| {
        format!(
            "{}: {error} (a whole `cargo xtask bench` writes it)",
            page.display()
        )
    })?;
    let dated = format!("- rows of `cargo xtask bench {}`:", sections.join(" "));
    let date = kling_types::__private::time::format_iso8601(std::time::SystemTime::now());
    let page_rows: Vec<PageRow> = rows
        .iter()
        .map(|row| PageRow {
            name: row.name.clone(),
            line: table_line(row),
            note: row.note.clone(),
        })
        .collect();
    let text = bench_page::merge(
        &text,
        &page_rows,
        &format!("{dated} {date}, took {:.0} s", took.as_secs_f64()),
        &dated,
    )?;
    std::fs::write(&page, text).map_err(|error| format!("{}: {error}", page.display()))
}

fn machine_facts() -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split(':').nth(1))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let memory = read("/proc/meminfo")
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or_else(String::new, |kib| format!("{} GiB", kib >> 20));
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let version = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .output()
            .map(|out| {
                String::from_utf8_lossy(if out.stdout.is_empty() {
                    &out.stderr
                } else {
                    &out.stdout
                })
                .trim()
                .to_owned()
            })
            .unwrap_or_default()
    };
    let date = kling_types::__private::time::format_iso8601(std::time::SystemTime::now());
    format!(
        "- date: {date}\n- command: `cargo xtask bench`\n- CPU: {cpu}, {cores} cores available; memory {memory}\n- kernel: {}\n- {}\n- {}\n- {}\n",
        read("/proc/sys/kernel/osrelease").trim(),
        version("rustc", "-V"),
        version("python3", "--version"),
        version("curl", "--version")
            .lines()
            .next()
            .unwrap_or_default()
    )
}
