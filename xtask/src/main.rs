//! Project automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask test`: installs the end-to-end tests' outside components when missing
//!   (the Segment SDKs and aiosmtpd in `.venv`, the Node SDK in `e2e/node_modules`), starts a
//!   throw-away PostgreSQL 15 cluster when the machine has one, runs every test, stops it.
//! - `cargo xtask ci`: `cargo fmt --check`, `cargo clippy -D warnings`, then `test` with
//!   `CI=1`, under which tests fail instead of skipping when a component is missing.

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
        Command::new(py).args(["-c", "import aiosmtpd, segment.analytics, standardwebhooks"]).output().is_ok_and(|o| o.status.success())
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

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    let result = match task.as_str() {
        "test" => test(std::env::var_os("CI").is_some()),
        "ci" => run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]).current_dir(root()))
            .and_then(|()| {
                run(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]).current_dir(root()))
            })
            .and_then(|()| test(true)),
        _ => Err("usage: cargo xtask test | ci".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
