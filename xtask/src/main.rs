//! Project automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask test`: installs the end-to-end tests' outside components when missing
//!   (the Segment SDKs and aiosmtpd in `.venv`, the Node SDK in `e2e/node_modules`), starts a
//!   throw-away PostgreSQL 15 cluster when the machine has one, runs every test, stops it.
//! - `cargo xtask ci`: `cargo fmt --check`, `cargo clippy -D warnings`, the web interface
//!   from a clean `npm ci` (`web`), then `test` with `CI=1`, under which tests fail instead of
//!   skipping when a component is missing, then schemathesis against the admin API's OpenAPI
//!   document (`api-fuzz`), the browser tests (`web-e2e`), and a one-minute `fuzz`.
//! - `cargo xtask web`: `npm ci`, build and component tests of `web/`; fails if the committed
//!   `web/dist` differs from the build.
//! - `cargo xtask api-fuzz`, `cargo xtask web-e2e`: schemathesis, and the browser tests of
//!   `web/e2e/` (installing Debian's Chromium when missing), against `target/debug/wayfarer`
//!   (build it first: `cargo build -p server`).
//! - `cargo xtask fuzz --minutes N [TARGET...]`: installs cargo-fuzz when missing, builds the
//!   fuzz targets of `fuzz/` and runs each (or those named) for its share of N minutes from
//!   its seed corpus; fails if any finds a crash, naming the reproducer. See docs/FUZZING.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(cmd: &mut Command) -> Result {
    eprintln!("xtask: {cmd:?}");
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {status}")) }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Python venv with e2e/requirements.txt, and e2e/node_modules.
fn install_e2e() -> Result {
    let root = root();
    let venv_python = root.join(".venv/bin/python");
    let importable = |py: &Path| {
        Command::new(py)
            .args(["-c", "import aiosmtpd, segment.analytics, standardwebhooks, schemathesis"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !importable(&venv_python) {
        run(Command::new("python3").args(["-m", "venv"]).arg(root.join(".venv")))?;
        run(Command::new(&venv_python).args(["-m", "pip", "install", "--quiet", "-r"]).arg(root.join("e2e/requirements.txt")))?;
    }
    if !root.join("e2e/node_modules/@segment/analytics-node").exists() {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root.join("e2e")))?;
    }
    Ok(())
}

/// A PostgreSQL cluster in a temporary directory, stopped on drop.
struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
}

impl Postgres {
    fn sh(&self, script: &str) -> Result {
        if self.as_postgres {
            run(Command::new("su").args(["postgres", "-c", script]))
        } else {
            run(Command::new("sh").args(["-c", script]))
        }
    }

    fn start() -> Result<Option<Postgres>> {
        let bin = PathBuf::from("/usr/lib/postgresql/15/bin");
        if !bin.join("initdb").exists() {
            return Ok(None);
        }
        let as_postgres = output(Command::new("id").arg("-u")).as_deref() == Some("0");
        let dir = std::env::temp_dir().join(format!("wayfarer-pg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(&dir))?;
        }
        let pg = Postgres { bin, dir, as_postgres };
        let (b, d) = (pg.bin.display(), pg.dir.display());
        pg.sh(&format!("{b}/initdb -D {d}/data -A trust -U postgres > {d}/initdb.log"))?;
        pg.sh(&format!(
            "{b}/pg_ctl -D {d}/data -o '-p 54329 -k {d} -c listen_addresses=127.0.0.1 -c fsync=off' -l {d}/log -w start > /dev/null"
        ))?;
        Ok(Some(pg))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.sh(&format!("{}/pg_ctl -D {}/data -m fast stop > /dev/null", self.bin.display(), self.dir.display()));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn test(ci: bool) -> Result {
    install_e2e()?;
    let pg = Postgres::start()?;
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "--workspace", "--all-targets"]).current_dir(root());
    if pg.is_some() {
        cmd.env("WAYFARER_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:54329/postgres");
    } else if ci {
        return Err("PostgreSQL 15 is not installed at /usr/lib/postgresql/15: CI needs it".into());
    } else {
        eprintln!("xtask: PostgreSQL 15 not found; the PostgreSQL backend is not tested");
    }
    if ci {
        cmd.env("CI", "1");
    }
    run(&mut cmd)
}

/// A `wayfarer` server (the debug build the tests made) on a free loopback port, with a fresh
/// data directory, a known admin token and the manual clock; stopped on drop.
struct Wayfarer {
    child: std::process::Child,
    dir: PathBuf,
    addr: std::net::SocketAddr,
    token: String,
}

impl Wayfarer {
    fn start(name: &str) -> Result<Wayfarer> {
        let dir = std::env::temp_dir().join(format!("wayfarer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        drop(listener);
        let token = format!("{name}-{}", std::process::id());
        let child = Command::new(root().join("target/debug/wayfarer"))
            .arg("serve")
            .env("WAYFARER_LISTEN", addr.to_string())
            .env("WAYFARER_DATA_DIR", dir.join("data"))
            .env("WAYFARER_ADMIN_TOKEN", &token)
            .env("WAYFARER_TESTING_MANUAL_CLOCK", "2030-01-01T00:00:00Z")
            // Links in emails point back at this server (the unsubscribe page's browser test).
            .env("WAYFARER_TRACKING_BASE_URL", format!("http://{addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("starting target/debug/wayfarer (build it first): {e}"))?;
        let server = Wayfarer { child, dir, addr, token };
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(format!("the server did not start on {addr} (log: {})", server.dir.join("server.log").display()))
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Wayfarer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs schemathesis against a `wayfarer` binary (the debug build the tests made) from its
/// OpenAPI document: every check but `positive_data_acceptance` (a journey document, a
/// template or "exactly one of" two fields has rules a schema cannot say, so a schema-valid
/// request may be refused with 4xx). It fails on any 5xx, any answer that does not match the
/// schema, any status or content type not documented, and invalid input accepted.
fn api_fuzz() -> Result {
    let server = Wayfarer::start("schemathesis")?;
    run(Command::new(root().join(".venv/bin/schemathesis")).args([
        "run",
        &format!("{}/api/openapi.json", server.url()),
        "-H",
        &format!("Authorization: Bearer {}", server.token),
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "30",
        "--seed",
        "1",
    ]))
}

fn npm(args: &[&str]) -> Result {
    run(Command::new("npm").args(args).current_dir(root().join("web")))
}

/// The web interface from a clean install: `npm ci`, the build (types generated from
/// `web/openapi.json`, type check, Vite), the component tests; then the committed `web/dist`
/// and generated types must equal what was just built (they are what the binary embeds).
fn web() -> Result {
    npm(&["ci", "--no-audit", "--no-fund"])?;
    npm(&["run", "build"])?;
    npm(&["test"])?;
    let changed =
        output(Command::new("git").args(["status", "--porcelain", "--", "web/dist", "web/src/api/schema.d.ts"]).current_dir(root()))
            .ok_or("git status failed")?;
    if !changed.is_empty() {
        return Err(format!(
            "web/dist (or the generated API types) differ from a clean build; run `cd web && npm ci && npm run build` and commit:\n{changed}"
        ));
    }
    Ok(())
}

/// Debian's Chromium, installed when missing (CI runs as root; `apt-get update` once).
fn chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    run(Command::new("apt-get").arg("update").arg("-q"))?;
    run(Command::new("apt-get").args(["install", "-y", "-q", "chromium"]))
}

/// The browser tests: each script of `web/e2e/` drives Chromium (playwright-core) against a
/// fresh `wayfarer` (the binary serves the UI it embeds), then the smoke test once more against
/// `web/dist` with a stand-in API; screenshots go to `target/screenshots/SCRIPT/`. What they
/// share is in `web/e2e/lib/`.
fn web_e2e() -> Result {
    chromium()?;
    let mut scripts: Vec<PathBuf> =
        files(&root().join("web/e2e")).into_iter().filter(|p| p.extension().is_some_and(|e| e == "mjs")).collect();
    scripts.sort();
    for script in scripts {
        let name = script.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let server = Wayfarer::start(&format!("ui-{name}"))?;
        let shots = root().join("target/screenshots").join(&name);
        std::fs::create_dir_all(&shots).map_err(|e| e.to_string())?;
        eprintln!("xtask: browser test {} (screenshots in {})", script.display(), shots.display());
        run(Command::new("node")
            .arg("--test")
            .arg(&script)
            .current_dir(root().join("web"))
            .env("WAYFARER_URL", server.url())
            .env("WAYFARER_TOKEN", &server.token)
            .env("SCREENSHOTS", &shots))?;
    }
    // The pages a server with no journey shows (the empty journeys page), against web/dist
    // answered by the smoke test's stand-in for the API.
    let shots = root().join("target/screenshots/smoke-mock");
    std::fs::create_dir_all(&shots).map_err(|e| e.to_string())?;
    run(Command::new("node")
        .args(["--test", "e2e/smoke.mjs"])
        .current_dir(root().join("web"))
        .env("WAYFARER_MOCK_API", "1")
        .env("SCREENSHOTS", &shots))
}

/// The cargo-fuzz `fuzz` installs when the machine has none.
const CARGO_FUZZ: &str = "0.13.2";

/// `cargo fuzz` on the stable toolchain: cargo-fuzz passes a few flags that rustc accepts only
/// from a nightly build, and `RUSTC_BOOTSTRAP=1` lets the stable compiler take them. No
/// sanitizer: the project forbids `unsafe` code, and what fuzzing finds here (panics,
/// overflows with the debug assertions cargo-fuzz turns on, hangs, memory blow-ups) needs
/// none; builds and runs are faster without.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("fuzz").args(args).current_dir(root()).env("RUSTC_BOOTSTRAP", "1");
    // What `cargo run` set for xtask itself: build scripts that watch these (ring's) would
    // otherwise run again, and rebuild their crates, whenever `cargo fuzz` is also run by hand.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || ["CARGO_CRATE_NAME", "CARGO_BIN_NAME", "CARGO_PRIMARY_PACKAGE"].contains(&&*key)
        {
            cmd.env_remove(&*key);
        }
    }
    cmd
}

fn files(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect()).unwrap_or_default()
}

/// A `stat::NAME: VALUE` line of libFuzzer's final statistics.
fn stat<'a>(log: &'a str, name: &str) -> &'a str {
    let key = format!("stat::{name}:");
    log.lines().find_map(|l| l.strip_prefix(key.as_str())).map_or("?", str::trim)
}

/// Runs every fuzz target (or `only`) for its share of `minutes`, each from a scratch corpus
/// (`fuzz/corpus/TARGET`, not committed) that starts as a copy of its seeds
/// (`fuzz/seeds/TARGET`), with its dictionary (`fuzz/dicts/TARGET.dict`) when it has one.
fn fuzz(minutes: f64, only: &[String]) -> Result {
    let started = std::time::Instant::now();
    if output(Command::new("cargo").args(["fuzz", "--version"])).is_none() {
        run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked", "--version", CARGO_FUZZ]))?;
    }
    let listed = output(&mut cargo_fuzz(&["list"])).ok_or("`cargo fuzz list` failed")?;
    let targets: Vec<&str> = listed.lines().map(str::trim).filter(|t| only.is_empty() || only.iter().any(|o| o == t)).collect();
    if targets.is_empty() {
        return Err(format!("no fuzz target named {only:?}; there are: {}", listed.lines().collect::<Vec<_>>().join(", ")));
    }
    run(&mut cargo_fuzz(&["build", "--sanitizer", "none"]))?;
    let built = started.elapsed();
    let dir = root().join("fuzz");
    let seconds = ((minutes * 60.0) / targets.len() as f64).max(1.0) as u64;
    let mut failed = Vec::new();
    for target in targets {
        let corpus = dir.join("corpus").join(target);
        let artifacts = dir.join("artifacts").join(target);
        let logs = dir.join("logs");
        for d in [&corpus, &artifacts, &logs] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        for seed in files(&dir.join("seeds").join(target)) {
            let to = corpus.join(seed.file_name().unwrap_or_default());
            std::fs::copy(&seed, &to).map_err(|e| format!("{}: {e}", seed.display()))?;
        }
        let known = files(&artifacts);
        let log = logs.join(format!("{target}.log"));
        let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = cargo_fuzz(&["run", "--sanitizer", "none", target]);
        cmd.arg(&corpus).args(["--", &format!("-max_total_time={seconds}"), "-timeout=10", "-print_final_stats=1"]);
        let dict = dir.join("dicts").join(format!("{target}.dict"));
        if dict.exists() {
            cmd.arg(format!("-dict={}", dict.display()));
        }
        eprintln!("xtask: fuzzing {target} for {seconds}s (log: {})", log.display());
        let run_started = std::time::Instant::now();
        let status = cmd.stdout(out).stderr(err).status().map_err(|e| format!("{cmd:?}: {e}"))?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        eprintln!(
            "xtask: {target}: {} inputs in {}s, corpus {} ({} seeds)",
            stat(&text, "number_of_executed_units"),
            run_started.elapsed().as_secs(),
            files(&corpus).len(),
            files(&dir.join("seeds").join(target)).len()
        );
        if !status.success() {
            let tail: Vec<&str> = text.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
            eprintln!("{}", tail.join("\n"));
            let mut found: Vec<PathBuf> = files(&artifacts).difference(&known).cloned().collect();
            // A timeout that does not repeat when the input is replayed was the machine, not
            // the input (a paused or starved process): reported, not failed on.
            let spurious = |f: &PathBuf| {
                f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("timeout-"))
                    && output(cargo_fuzz(&["run", "--sanitizer", "none", target]).arg(f).args(["--", "-timeout=10"])).is_some()
            };
            if !found.is_empty() && found.iter().all(spurious) {
                eprintln!("xtask: {target}: the timeout did not repeat when replayed ({}); not a failure", found[0].display());
                continue;
            }
            found.retain(|f| !spurious(f));
            for f in &found {
                eprintln!(
                    "xtask: {target} crashed on {}; reproduce with `RUSTC_BOOTSTRAP=1 cargo fuzz run -s none {target} {}`",
                    f.display(),
                    f.display()
                );
            }
            failed.push(if found.is_empty() {
                format!("{target} (see {})", log.display())
            } else {
                format!("{target}: {}", found[0].display())
            });
        }
    }
    eprintln!("xtask: fuzz took {}s (cargo-fuzz and build {}s)", started.elapsed().as_secs(), built.as_secs());
    if failed.is_empty() { Ok(()) } else { Err(format!("fuzzing found crashes: {}", failed.join("; "))) }
}

/// `--minutes N` and target names.
fn fuzz_args(args: &[String]) -> Result<(f64, Vec<String>)> {
    let mut minutes = 5.0;
    let mut only = Vec::new();
    let mut args = args.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--minutes" => {
                minutes = args.next().and_then(|m| m.parse().ok()).filter(|m: &f64| *m > 0.0).ok_or("--minutes takes a positive number")?
            }
            t if !t.starts_with('-') => only.push(t.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((minutes, only))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().cloned().unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(std::env::var_os("CI").is_some()),
        "fuzz" => fuzz_args(&args[1..]).and_then(|(minutes, only)| fuzz(minutes, &only)),
        "ci" => run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]).current_dir(root()))
            .and_then(|()| {
                run(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]).current_dir(root()))
            })
            .and_then(|()| web())
            .and_then(|()| test(true))
            .and_then(|()| api_fuzz())
            .and_then(|()| web_e2e())
            .and_then(|()| fuzz(1.0, &[])),
        "api-fuzz" => install_e2e().and_then(|()| api_fuzz()),
        "web" => web(),
        "web-e2e" => web_e2e(),
        _ => Err("usage: cargo xtask test | ci | api-fuzz | web | web-e2e | fuzz [--minutes N] [TARGET...]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
