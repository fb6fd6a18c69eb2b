//! Running the real `kitebreak` binary as a user would: a clean environment, a
//! temporary data directory, and the address read from its own output.

use std::process::{ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_kitebreak");

/// Upper bound for a process to exit after SIGTERM: a guard, never a synchronisation.
const EXIT_GUARD: Duration = Duration::from_secs(60);

/// `kitebreak` with an empty environment (no stray `KITEBREAK_*`, `RUST_LOG`).
pub fn kitebreak(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    command
}

/// Runs `kitebreak` to completion with `envs` set.
pub async fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = kitebreak(args);
    command.envs(envs.iter().copied());
    command.output().await.expect("the binary runs")
}

/// The text of a finished process's stdout and stderr.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running `kitebreak serve` on an ephemeral port.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: Arc<Mutex<String>>,
    /// Sees how many bytes of stderr have been read; closed when stderr ends.
    stderr_read: tokio::sync::watch::Receiver<usize>,
    drain: Option<tokio::task::JoinHandle<()>>,
    /// The data directory (kept alive as long as the server).
    pub data: tempfile::TempDir,
    client: reqwest::Client,
    /// Sent as `Authorization: Bearer` when the server was given an API token.
    token: Option<String>,
}

impl Server {
    /// Starts `kitebreak serve --listen 127.0.0.1:0 --data-dir TMP ARGS...` and waits
    /// for its `listening on http://` line.
    pub async fn start(args: &[&str]) -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir"), args).await
    }

    /// [`Server::start`] with the data directory `data` (e.g. one a previous server
    /// left behind).
    pub async fn start_in(data: tempfile::TempDir, args: &[&str]) -> Server {
        Server::launch(data, args, &[]).await
    }

    /// [`Server::start`] with environment variables (secrets); requests then carry
    /// `KITEBREAK_API_TOKEN` if it is among them.
    pub async fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> Server {
        let data = tempfile::tempdir().expect("temp dir");
        Server::launch(data, args, envs).await
    }

    /// [`Server::start_in`] with environment variables.
    pub async fn start_in_with_env(
        data: tempfile::TempDir,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Server {
        Server::launch(data, args, envs).await
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and hands back its
    /// data directory for a restart.
    pub async fn kill(mut self) -> tempfile::TempDir {
        self.child.kill().await.expect("SIGKILL and wait");
        if let Some(drain) = self.drain.take() {
            drain.await.expect("stderr reader");
        }
        self.data
    }

    async fn launch(data: tempfile::TempDir, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let dir = data.path().display().to_string();
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--data-dir", &dir];
        all.extend_from_slice(args);
        let mut child = kitebreak(&all)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("piped stderr");
        let sink = Arc::clone(&stderr);
        let (read, stderr_read) = tokio::sync::watch::channel(0);
        // Drain stderr continuously so a chatty log can never block the server.
        let drain = tokio::spawn(async move {
            let mut buffer = [0_u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer).await {
                let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                sink.lock().expect("stderr buffer").push_str(&text);
                read.send_modify(|bytes| *bytes += n);
            }
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next_line().await.expect("read stdout") {
                Some(line) => {
                    if let Some((_, url)) = line.split_once("listening on ") {
                        break url.trim().to_owned();
                    }
                }
                None => {
                    let status = child.wait().await.expect("exit status");
                    let log = stderr.lock().expect("stderr buffer").clone();
                    panic!("serve exited ({status}) before listening:\n{log}");
                }
            }
        };
        Server {
            child,
            base,
            stderr,
            stderr_read,
            drain: Some(drain),
            data,
            client: reqwest::Client::new(),
            token: envs
                .iter()
                .find(|(name, _)| *name == "KITEBREAK_API_TOKEN")
                .map(|(_, token)| (*token).to_owned()),
        }
    }

    /// `GET path`: the status and the JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Waits until the server's log contains `text`, looking again after every
    /// chunk it writes (no polling). Fails, with the log, if the server's stderr ends
    /// first or nothing comes for [`EXIT_GUARD`] (a bound on a hang, never a timing).
    pub async fn wait_for_log(&self, text: &str) {
        let mut read = self.stderr_read.clone();
        let found =
            tokio::time::timeout(EXIT_GUARD, read.wait_for(|_| self.stderr().contains(text))).await;
        assert!(
            found.is_ok_and(|found| found.is_ok()),
            "never logged {text:?}:\n{}",
            self.stderr()
        );
    }

    /// `POST path` with a JSON body: the status and the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Sends SIGTERM and waits for the process to exit and its log to be read.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = tokio::time::timeout(EXIT_GUARD, self.child.wait())
            .await
            .expect("serve exits after SIGTERM")
            .expect("exit status");
        if let Some(drain) = self.drain.take() {
            drain.await.expect("stderr reader");
        }
        status
    }
}
