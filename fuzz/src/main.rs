//! revops-fuzz: a seeded mutation fuzzer for revops on stable Rust.
//!
//! ```sh
//! cargo run --release -p revops-fuzz -- --seconds 60 [--target NAME] [--seed S] [--corpus DIR]
//! cargo run --release -p revops-fuzz -- --replay fuzz/findings/FILE --target NAME
//! cargo run --release -p revops-fuzz -- --list
//! ```
//! See `fuzz/README.md`.

mod mutate;
mod oracle;
mod rng;
mod seeds;
mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mutate::Mutator;
use rng::Rng;
use targets::{TARGETS, Target, error_class, excerpt};

const HELP: &str = "\
revops-fuzz: a seeded mutation fuzzer for the revops readers, writers and engines

  --seconds S        total run time, split evenly over the targets (default 60)
  --target NAMES     fuzz these targets only (comma-separated; see --list)
  --seed S           the random seed (default 1); the same seed gives the same inputs
  --corpus DIR       extra seeds from DIR/<target>/ (or DIR itself with --target)
  --max-len BYTES    input size cap (default 65536)
  --hang-ms MS       an execution slower than this is a finding (default 2000)
  --hang-exit-s S    give up on an execution stuck this long: report and exit (default 60)
  --max-alloc-mb MB  an allocation larger than this is a finding: report and exit (default 1024)
  --findings DIR     where findings are written (default fuzz/findings)
  --replay FILE      run FILE once through --target and report what happens
  --no-minimize      keep findings as found (default: shrink them while they reproduce)
  --list             list the targets
";

/// How long one execution may take before it is a hang.
static HANG_MS: AtomicU64 = AtomicU64::new(2_000);
/// The input being executed and its target (for the watchdog and the allocator).
static CURRENT: Mutex<(usize, Vec<u8>)> = Mutex::new((0, Vec::new()));
/// The execution counter; `EXEC_START` is its start in ms since `base()` + 1 (0: idle).
static EXEC_ID: AtomicU64 = AtomicU64::new(0);
static EXEC_START: AtomicU64 = AtomicU64::new(0);
/// Executions per target (readable from the watchdog and the allocator).
static EXECS: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];
/// The last panic seen by the hook.
static LAST_PANIC: Mutex<Option<(String, String, Backtrace)>> = Mutex::new(None);
/// The findings directory.
static FINDINGS_DIR: OnceLock<PathBuf> = OnceLock::new();
/// Allocation cap in bytes (`usize::MAX`: none).
static ALLOC_CAP: AtomicUsize = AtomicUsize::new(usize::MAX);

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    base().elapsed().as_millis() as u64
}

/// The system allocator with a per-allocation cap: beyond it, the input is saved as a
/// finding and the process exits (the allocation would otherwise abort it, or eat the
/// machine's memory).
struct Capped;

// SAFETY: every call is forwarded to `System` unchanged; `too_big` never returns.
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP.load(Ordering::Relaxed) {
            too_big(layout.size());
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > ALLOC_CAP.load(Ordering::Relaxed) {
            too_big(layout.size());
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > ALLOC_CAP.load(Ordering::Relaxed) {
            too_big(new_size);
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fn too_big(size: usize) -> ! {
    // Lift the cap first: reporting allocates.
    ALLOC_CAP.store(usize::MAX, Ordering::Relaxed);
    let (target, input) = match CURRENT.try_lock() {
        Ok(c) => (c.0, c.1.clone()),
        Err(_) => (0, Vec::new()),
    };
    let target = &TARGETS[target];
    let message = format!("an allocation of {size} bytes (over the --max-alloc-mb cap)");
    let path = save(target.name, &input, "");
    report_finding(
        target,
        "allocation",
        &message,
        &input,
        None,
        path.as_deref(),
    );
    eprintln!("revops-fuzz: stopping: the process cannot go on safely after this allocation");
    print_totals();
    std::process::exit(3);
}

struct Args {
    seconds: f64,
    target: Option<String>,
    seed: u64,
    corpus: Option<PathBuf>,
    max_len: usize,
    hang_exit: u64,
    replay: Option<PathBuf>,
    minimize: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 60.0,
        target: None,
        seed: 1,
        corpus: None,
        max_len: 64 * 1024,
        hang_exit: 60,
        replay: None,
        minimize: true,
    };
    let mut findings = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/findings"));
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: `{v}` is not a whole number"))
        };
        match flag.as_str() {
            "--seconds" => {
                let v = value()?;
                a.seconds = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| format!("--seconds: `{v}` is not a number of seconds"))?;
            }
            "--target" => {
                let v = value()?;
                if let Some(t) = v.split(',').find(|t| targets::find(t).is_none()) {
                    return Err(format!("unknown target `{t}` (see --list)"));
                }
                a.target = Some(v);
            }
            "--seed" => a.seed = number(value()?)?,
            "--corpus" => a.corpus = Some(PathBuf::from(value()?)),
            "--max-len" => a.max_len = number(value()?)?.max(1) as usize,
            "--hang-ms" => HANG_MS.store(number(value()?)?.max(1), Ordering::Relaxed),
            "--hang-exit-s" => a.hang_exit = number(value()?)?.max(1),
            "--max-alloc-mb" => {
                let mb = number(value()?)?;
                ALLOC_CAP.store((mb as usize).saturating_mul(1 << 20), Ordering::Relaxed);
            }
            "--findings" => findings = PathBuf::from(value()?),
            "--replay" => a.replay = Some(PathBuf::from(value()?)),
            "--no-minimize" => a.minimize = false,
            "--list" => {
                for t in TARGETS {
                    println!("{:<20} {}", t.name, t.about);
                }
                std::process::exit(0);
            }
            "--help" | "-h" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown flag `{other}` (see --help)")),
        }
    }
    if ALLOC_CAP.load(Ordering::Relaxed) == usize::MAX {
        ALLOC_CAP.store(1024 << 20, Ordering::Relaxed);
    }
    let _ = FINDINGS_DIR.set(findings);
    Ok(a)
}

/// What one execution did.
#[derive(Debug, Clone, PartialEq)]
enum Exec {
    /// Ran to the end (with this behaviour fingerprint).
    Ok(u64),
    /// Broke a checked invariant.
    Check(String),
    /// Panicked: message, location, first revops frame.
    Panic(String, String, String),
}

impl Exec {
    /// What makes two findings the same.
    fn signature(&self, target: &str) -> Option<String> {
        match self {
            Exec::Ok(_) => None,
            Exec::Check(m) => Some(format!("{target}|check|{}", error_class(m))),
            Exec::Panic(m, loc, frame) => {
                Some(format!("{target}|panic|{}|{loc}|{frame}", error_class(m)))
            }
        }
    }
}

/// The first frame of the revops crate in a backtrace (hash suffix removed).
fn revops_frame(bt: &Backtrace) -> String {
    let text = bt.to_string();
    for line in text.lines() {
        let line = line.trim();
        let Some((_, symbol)) = line.split_once(": ") else {
            continue;
        };
        if (symbol.starts_with("revops::") || symbol.starts_with("<revops::"))
            && !symbol.contains("revops_fuzz")
        {
            let s = match symbol.rfind("::h") {
                Some(p) if symbol[p + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &symbol[..p],
                _ => symbol,
            };
            return s.to_string();
        }
    }
    String::new()
}

/// Runs `input` through `target` once, under `catch_unwind`, timed. Returns what
/// happened and how long it took.
fn execute(index: usize, target: &Target, input: &[u8]) -> (Exec, Duration) {
    {
        let mut c = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
        c.0 = index;
        c.1.clear();
        c.1.extend_from_slice(input);
    }
    EXEC_ID.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    EXEC_START.store(now_ms() + 1, Ordering::Release);
    let result = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    EXEC_START.store(0, Ordering::Release);
    let took = started.elapsed();
    EXECS[index].fetch_add(1, Ordering::Relaxed);
    let exec = match result {
        Ok(Ok(fp)) => Exec::Ok(fp),
        Ok(Err(m)) => Exec::Check(m),
        Err(payload) => {
            let taken = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take();
            match taken {
                Some((m, loc, bt)) => Exec::Panic(m, loc, revops_frame(&bt)),
                None => {
                    let m = payload
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    Exec::Panic(m, String::new(), String::new())
                }
            }
        }
    };
    (exec, took)
}

/// Writes a finding's input; returns its path.
fn save(target: &str, input: &[u8], suffix: &str) -> Option<PathBuf> {
    let dir = FINDINGS_DIR.get()?;
    std::fs::create_dir_all(dir).ok()?;
    // FNV-1a: a stable name for the same input.
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let path = dir.join(format!("{target}-{hash:016x}{suffix}"));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// One distinct finding.
struct Finding {
    target: &'static str,
    kind: &'static str,
    message: String,
    input: Vec<u8>,
    count: u64,
}

static FINDINGS: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
static SIGNATURES: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

/// Records a finding; `true` when its signature is new.
fn record(
    signature: String,
    target: &'static Target,
    kind: &'static str,
    message: &str,
    input: &[u8],
) -> bool {
    let mut sigs = SIGNATURES.lock().unwrap_or_else(|e| e.into_inner());
    let sigs = sigs.get_or_insert_with(HashMap::new);
    let mut findings = FINDINGS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&i) = sigs.get(&signature) {
        findings[i].count += 1;
        return false;
    }
    sigs.insert(signature, findings.len());
    findings.push(Finding {
        target: target.name,
        kind,
        message: message.to_string(),
        input: input.to_vec(),
        count: 1,
    });
    true
}

fn report_finding(
    target: &Target,
    kind: &str,
    message: &str,
    input: &[u8],
    minimized: Option<&[u8]>,
    path: Option<&Path>,
) {
    eprintln!(
        "\n=== FINDING [{}] {kind}: {}",
        target.name,
        excerpt(message.as_bytes(), 1500)
    );
    eprintln!("  input ({} bytes): {}", input.len(), excerpt(input, 400));
    if let Some(m) = minimized {
        eprintln!("  minimized ({} bytes): {}", m.len(), excerpt(m, 400));
    }
    if let Some(p) = path {
        eprintln!(
            "  saved to {}\n  reproduce: cargo run --release -p revops-fuzz -- --replay {} --target {}",
            p.display(),
            p.display(),
            target.name
        );
    }
}

fn describe(exec: &Exec) -> (&'static str, String) {
    match exec {
        Exec::Ok(_) => ("ok", String::new()),
        Exec::Check(m) => ("check", m.clone()),
        Exec::Panic(m, loc, frame) => (
            "panic",
            format!(
                "{m}{}{}",
                if loc.is_empty() {
                    String::new()
                } else {
                    format!(" (at {loc})")
                },
                if frame.is_empty() {
                    String::new()
                } else {
                    format!(" in {frame}")
                }
            ),
        ),
    }
}

/// Shrinks `input` while it still gives the same signature: removes chunks of lines,
/// then chunks of bytes, halving the chunk size, within a small budget.
fn minimize(index: usize, target: &Target, input: &[u8], signature: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let hang = Duration::from_millis(HANG_MS.load(Ordering::Relaxed));
    let mut best = input.to_vec();
    let mut tries = 0;
    let mut still = |candidate: &[u8]| -> Option<bool> {
        tries += 1;
        if tries > 4_000 || Instant::now() > deadline {
            return None;
        }
        let (e, took) = execute(index, target, candidate);
        if took > hang {
            return None;
        }
        Some(e.signature(target.name).as_deref() == Some(signature))
    };
    // Line chunks, then byte chunks.
    for by_lines in [true, false] {
        let units = |d: &[u8]| -> Vec<(usize, usize)> {
            if by_lines {
                let mut v = Vec::new();
                let mut a = 0;
                for (i, &b) in d.iter().enumerate() {
                    if b == b'\n' {
                        v.push((a, i + 1));
                        a = i + 1;
                    }
                }
                if a < d.len() {
                    v.push((a, d.len()));
                }
                v
            } else {
                (0..d.len()).map(|i| (i, i + 1)).collect()
            }
        };
        let mut chunk = units(&best).len() / 2;
        while chunk >= 1 {
            let mut i = 0;
            loop {
                let u = units(&best);
                if i >= u.len() {
                    break;
                }
                let end = (i + chunk).min(u.len());
                let (a, b) = (u[i].0, u[end - 1].1);
                let mut candidate = best[..a].to_vec();
                candidate.extend_from_slice(&best[b..]);
                match still(&candidate) {
                    None => return best,
                    Some(true) => best = candidate,
                    Some(false) => i += chunk,
                }
            }
            chunk /= 2;
        }
    }
    best
}

/// Handles what an execution found: a new signature is minimised, saved and printed.
fn handle(
    index: usize,
    target: &'static Target,
    input: &[u8],
    exec: &Exec,
    took: Duration,
    minimize_on: bool,
) {
    let hang = Duration::from_millis(HANG_MS.load(Ordering::Relaxed));
    if took > hang && !seen_signature(&format!("{}|hang", target.name)) {
        // Wall-clock time lies on a loaded machine: run the input again and measure the
        // thread's CPU time (Linux; elsewhere the wall clock stands).
        let before = thread_cpu();
        let _ = execute(index, target, input);
        let cpu = before.zip(thread_cpu()).map(|(a, b)| b.saturating_sub(a));
        if cpu.is_some_and(|c| c <= hang) {
            SLOW_UNDER_LOAD.fetch_add(1, Ordering::Relaxed);
        } else {
            let message = format!(
                "slow: one execution took {:.2} s ({} CPU; last phase: {})",
                took.as_secs_f64(),
                cpu.map_or("wall clock".into(), |c| format!("{:.2} s", c.as_secs_f64())),
                targets::phase()
            );
            // Hangs of one target count as one finding.
            if record(
                format!("{}|hang", target.name),
                target,
                "hang",
                &message,
                input,
            ) {
                let path = save(target.name, input, "");
                report_finding(target, "hang", &message, input, None, path.as_deref());
            }
        }
    }
    let Some(signature) = exec.signature(target.name) else {
        return;
    };
    let (kind, message) = describe(exec);
    if !record(signature.clone(), target, kind, &message, input) {
        return;
    }
    let path = save(target.name, input, "");
    let minimized = minimize_on.then(|| minimize(index, target, input, &signature));
    let min_path = minimized
        .as_ref()
        .and_then(|m| save(target.name, m, ".min"));
    let mut shown = message.clone();
    if let Some(m) = &minimized {
        // The minimized input's own message (its values are the ones shown).
        let (again, _) = execute(index, target, m);
        let (_, min_message) = describe(&again);
        let mut f = FINDINGS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = f
            .iter_mut()
            .rev()
            .find(|x| x.message == message && x.target == target.name)
        {
            last.input = m.clone();
            if !min_message.is_empty() {
                last.message = min_message.clone();
                shown = min_message;
            }
        }
    }
    report_finding(
        target,
        kind,
        &shown,
        input,
        minimized.as_deref(),
        min_path.as_deref().or(path.as_deref()),
    );
}

/// Watches the running execution: reports a hang once per execution, and exits the
/// process when one is stuck for `hang_exit` seconds.
fn watchdog(hang_exit: u64) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let start = EXEC_START.load(Ordering::Acquire);
            if start == 0 {
                continue;
            }
            let running = now_ms().saturating_sub(start - 1);
            if running > hang_exit * 1000 {
                let (index, input) = {
                    let c = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                    (c.0, c.1.clone())
                };
                let target = &TARGETS[index];
                let message = format!(
                    "stuck: an execution still running after {} s of wall clock (in {})",
                    running / 1000,
                    targets::phase()
                );
                if record(
                    format!("{}|hang", target.name),
                    target,
                    "hang",
                    &message,
                    &input,
                ) {
                    let path = save(target.name, &input, "");
                    report_finding(target, "hang", &message, &input, None, path.as_deref());
                }
                eprintln!(
                    "revops-fuzz: an execution has been stuck for {} s: stopping",
                    running / 1000
                );
                print_totals();
                std::process::exit(4);
            }
        }
    });
}

/// Slow executions that were fast in CPU time when run again (the machine was busy).
static SLOW_UNDER_LOAD: AtomicU64 = AtomicU64::new(0);

/// The CPU time of the calling thread (Linux only).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Whether a finding with this signature was recorded.
fn seen_signature(signature: &str) -> bool {
    SIGNATURES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|s| s.contains_key(signature))
}

/// Prints the findings and the executions so far (also on an early exit).
fn print_totals() {
    let findings = FINDINGS.lock().unwrap_or_else(|e| e.into_inner());
    let total: u64 = EXECS.iter().map(|e| e.load(Ordering::Relaxed)).sum();
    println!("\ntotal executions: {total}");
    let slow = SLOW_UNDER_LOAD.load(Ordering::Relaxed);
    if slow > 0 {
        println!("slow executions that ran within the budget in CPU time when repeated: {slow}");
    }
    println!("distinct findings: {}", findings.len());
    for (i, f) in findings.iter().enumerate() {
        println!(
            "  {}. [{}] {} (x{}): {}\n     input: {}",
            i + 1,
            f.target,
            f.kind,
            f.count,
            excerpt(f.message.as_bytes(), 400),
            excerpt(&f.input, 300)
        );
    }
}

fn replay(args: &Args, file: &Path) -> ExitCode {
    let Some(name) = args.target.as_deref().filter(|n| !n.contains(',')) else {
        eprintln!("--replay needs one --target NAME");
        return ExitCode::from(2);
    };
    let index = TARGETS.iter().position(|t| t.name == name).unwrap_or(0);
    let target = &TARGETS[index];
    let input = match std::fs::read(file) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    println!(
        "replaying {} ({} bytes) through {}",
        file.display(),
        input.len(),
        target.name
    );
    println!("input: {}", excerpt(&input, 2000));
    let (exec, took) = execute(index, target, &input);
    let (kind, message) = describe(&exec);
    println!("took {:.3} s", took.as_secs_f64());
    let hang = took > Duration::from_millis(HANG_MS.load(Ordering::Relaxed));
    if hang {
        println!("hang: slower than --hang-ms");
    }
    match exec {
        Exec::Ok(_) if !hang => {
            println!("ok: no panic, no broken invariant");
            ExitCode::SUCCESS
        }
        Exec::Ok(_) => ExitCode::FAILURE,
        _ => {
            println!("{kind}: {message}");
            ExitCode::FAILURE
        }
    }
}

struct Stats {
    name: &'static str,
    execs: u64,
    secs: f64,
    corpus: usize,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("revops-fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    base();
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let m = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let loc = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((m, loc, Backtrace::force_capture()));
    }));
    watchdog(args.hang_exit);
    if let Some(file) = &args.replay {
        return replay(&args, file);
    }

    let selected: Vec<usize> = (0..TARGETS.len())
        .filter(|&i| {
            args.target
                .as_deref()
                .is_none_or(|n| n.split(',').any(|n| n == TARGETS[i].name))
        })
        .collect();
    let slice = Duration::from_secs_f64(args.seconds / selected.len() as f64);
    let synthetic = seeds::Synthetic::new();
    let corpus_root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus"));
    let mut extra: Vec<String> = revops::Funnel::demand_waterfall()
        .stages()
        .iter()
        .chain(revops::Funnel::salesforce_opportunity().stages())
        .map(|s| s.key.clone())
        .collect();
    extra.extend(
        [
            "##leads",
            "##stage_events",
            "##touches",
            "##conversions",
            "##spend",
            "##opportunity_history",
            "##forecasts",
            "\n##touches\nsubject_id,channel,campaign,at\n",
        ]
        .map(String::from),
    );
    let mutator = Mutator::new(extra, args.max_len);
    println!(
        "revops-fuzz: seed {}, {:.1} s over {} target(s), inputs up to {} bytes",
        args.seed,
        args.seconds,
        selected.len(),
        args.max_len
    );

    let mut stats = Vec::new();
    for &index in &selected {
        let target = &TARGETS[index];
        let started = Instant::now();
        let deadline = started + slice;
        let mut corpus: Vec<Vec<u8>> = seeds::files(&corpus_root.join(target.name));
        if let Some(dir) = &args.corpus {
            let own = dir.join(target.name);
            corpus.extend(seeds::files(if own.is_dir() || selected.len() > 1 {
                &own
            } else {
                dir
            }));
        }
        corpus.extend(synthetic.seeds(target.name));
        corpus.retain(|c| c.len() <= args.max_len);
        if corpus.is_empty() {
            corpus.push(Vec::new());
        }
        let mut seen: HashSet<u64> = HashSet::new();
        for input in corpus.clone() {
            let (exec, took) = execute(index, target, &input);
            if let Exec::Ok(fp) = exec {
                seen.insert(fp);
            }
            handle(index, target, &input, &exec, took, args.minimize);
        }
        let mut rng = Rng::new(args.seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut input = Vec::with_capacity(args.max_len);
        let mut bytes = 0u64;
        let mutated_from = EXECS[index].load(Ordering::Relaxed);
        while Instant::now() < deadline {
            // Newer entries (new behaviour) are picked more often.
            let parent = if rng.one_in(3) && corpus.len() > 8 {
                corpus.len() - 1 - rng.below(8)
            } else {
                // The shorter of two: small inputs run faster and shrink findings.
                let (a, b) = (rng.below(corpus.len()), rng.below(corpus.len()));
                if corpus[a].len() <= corpus[b].len() {
                    a
                } else {
                    b
                }
            };
            input.clone_from(&corpus[parent]);
            mutator.mutate(&mut rng, &mut input, &corpus);
            bytes += input.len() as u64;
            let (exec, took) = execute(index, target, &input);
            match exec {
                Exec::Ok(fp) => {
                    // Big inputs join rarely: they run slowly, and so do their children.
                    let small = input.len() <= 4096 || rng.one_in(16);
                    if small && corpus.len() < 4096 && seen.insert(fp) {
                        corpus.push(input.clone());
                    }
                    if took > Duration::from_millis(HANG_MS.load(Ordering::Relaxed)) {
                        handle(index, target, &input, &exec, took, args.minimize);
                    }
                }
                _ => handle(index, target, &input, &exec, took, args.minimize),
            }
        }
        let s = Stats {
            name: target.name,
            execs: EXECS[index].load(Ordering::Relaxed),
            secs: started.elapsed().as_secs_f64(),
            corpus: corpus.len(),
        };
        let mutated = (s.execs - mutated_from).max(1);
        println!(
            "{:<20} {:>10} execs {:>9.0}/s  corpus {}  mean input {} bytes",
            s.name,
            s.execs,
            s.execs as f64 / s.secs.max(1e-9),
            s.corpus,
            bytes / mutated
        );
        stats.push(s);
    }

    println!(
        "\n{:<20} {:>12} {:>8} {:>10} {:>7}",
        "target", "executions", "seconds", "execs/s", "corpus"
    );
    for s in &stats {
        println!(
            "{:<20} {:>12} {:>8.1} {:>10.0} {:>7}",
            s.name,
            s.execs,
            s.secs,
            s.execs as f64 / s.secs.max(1e-9),
            s.corpus
        );
    }
    print_totals();
    let found = !FINDINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty();
    if found {
        println!(
            "findings are in {}",
            FINDINGS_DIR
                .get()
                .map_or(String::new(), |d| d.display().to_string())
        );
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
