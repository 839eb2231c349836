// Publish to a sluice hub from Rust, standard library only (plain HTTP, e.g. to a hub on the
// same network; use a crate such as ureq or reqwest for https):
//   rustc publish.rs && HUB_ADDR=127.0.0.1:8080 ./publish news '{"title":"hi"}'
use std::env;
use std::io::{Read, Write};
use std::net::TcpStream;

fn publish(topic: &str, data_json: &str) -> std::io::Result<String> {
    let address = env::var("HUB_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let key = env::var("SLUICE_PUBLISH_KEY").expect("SLUICE_PUBLISH_KEY");
    // The topic goes into JSON: escape it (data_json is JSON already).
    let topic_json = format!("\"{}\"", topic.replace('\\', "\\\\").replace('"', "\\\""));
    let body = format!("{{\"topic\":{},\"data\":{}}}", topic_json, data_json);
    let mut stream = TcpStream::connect(&address)?;
    write!(
        stream,
        "POST /publish HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        address, key, body.len(), body
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

fn main() {
    let args: Vec<String> = env::args().collect();
    match publish(&args[1], &args[2]) {
        Ok(answer) if answer.starts_with("HTTP/1.1 200") => {
            println!("{}", answer.split("\r\n\r\n").nth(1).unwrap_or(""))
        }
        Ok(answer) => {
            eprintln!("{}", answer);
            std::process::exit(1)
        }
        Err(error) => {
            eprintln!("{}", error);
            std::process::exit(1)
        }
    }
}
