//! A Flink JobManager's REST API, as `eddy flink run` follows a job: plain HTTP/1.1 GET and PATCH
//! with JSON answers (the endpoints of flink-cluster.md: `/overview`, `/jobs/overview`,
//! `/jobs/{id}`, `/jobs/{id}/exceptions`, `PATCH /jobs/{id}?mode=cancel`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;

/// The largest answer read: job details of a big job stay well below it.
const MAX_ANSWER_BYTES: u64 = 16 * 1024 * 1024;

/// A JobManager's REST endpoint.
#[derive(Debug, Clone)]
pub struct JobManager {
    pub host: String,
    pub port: u16,
}

impl JobManager {
    /// `http://host:port`, `host:port` or `host` (port 8081).
    pub fn parse(text: &str) -> Result<Self, String> {
        let address = text
            .trim()
            .trim_start_matches("http://")
            .trim_end_matches('/');
        if address.starts_with("https://") {
            return Err(format!("{text}: only http:// JobManagers are supported"));
        }
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (
                host.to_string(),
                port.parse()
                    .map_err(|_| format!("{text}: `{port}` is not a port"))?,
            ),
            None => (address.to_string(), 8081),
        };
        if host.is_empty() {
            return Err(format!("{text}: no host"));
        }
        Ok(Self { host, port })
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    /// `method path` and its answer's JSON, or what went wrong (naming the address).
    pub fn call(&self, method: &str, path: &str) -> Result<Value, String> {
        let failed = |e: std::io::Error| format!("{method} {}{path}: {e}", self.url());
        let address = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(failed)?
            .next()
            .ok_or_else(|| format!("{}: the host has no address", self.url()))?;
        let mut stream =
            TcpStream::connect_timeout(&address, Duration::from_secs(3)).map_err(failed)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(failed)?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.host, self.port
        );
        stream.write_all(request.as_bytes()).map_err(failed)?;
        let mut raw = Vec::new();
        stream
            .take(MAX_ANSWER_BYTES)
            .read_to_end(&mut raw)
            .map_err(failed)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("{method} {}{path}: no HTTP answer", self.url()))?;
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let chunked = head.lines().any(|l| {
            l.to_ascii_lowercase()
                .starts_with("transfer-encoding: chunked")
        });
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_string()
        };
        if !(200..300).contains(&status) {
            return Err(format!(
                "{method} {}{path}: HTTP {status}: {}",
                self.url(),
                body.chars().take(300).collect::<String>()
            ));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body)
            .map_err(|e| format!("{method} {}{path}: not JSON: {e}", self.url()))
    }
}

/// The body of a chunked answer.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The root cause in a Java stack trace: its last `Caused by:` line, or its first line.
pub fn root_cause(trace: &str) -> String {
    trace
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("Caused by:"))
        .or_else(|| trace.lines().next())
        .map(|l| l.trim().trim_start_matches("Caused by:").trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_chunks_and_causes() {
        let jm = JobManager::parse("http://127.0.0.1:18081/").unwrap();
        assert_eq!((jm.host.as_str(), jm.port), ("127.0.0.1", 18081));
        assert_eq!(JobManager::parse("flink-host").unwrap().port, 8081);
        assert!(JobManager::parse("http://h:port").is_err());
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
        let trace = "org.apache.flink.JobException: failed\n\tat x\nCaused by: java.lang.RuntimeException: inner\n\tat y\nCaused by: java.lang.ArithmeticException: / by zero\n\tat z";
        assert_eq!(
            root_cause(trace),
            "java.lang.ArithmeticException: / by zero"
        );
    }
}
