//! The `durable-local` command: `serve` runs the local durable-execution service over HTTP
//! with the declared functions; `run` drives one execution to its end and prints its
//! timeline. See docs/local-server.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, ArgMatches, Command};
use durable_local::{
    history_to_json, lock_service, timeline_html, ExecutionStatus, TimeMode, Timeline,
};
use durable_local_server::{load_config, FunctionSpec, ServeOptions, Server, ServerError};

fn function_args(command: Command) -> Command {
    command
        .arg(
            Arg::new("function")
                .long("function")
                .short('f')
                .value_name("NAME=COMMAND")
                .action(ArgAction::Append)
                .help("Declare a durable function whose bootstrap is COMMAND (split on spaces)"),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .short('c')
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Declare functions from a JSON config file (see docs/local-server.md)"),
        )
        .arg(
            Arg::new("real-time")
                .long("real-time")
                .action(ArgAction::SetTrue)
                .help("Use the system clock instead of virtual time"),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .help("Do not copy the functions' output to stderr"),
        )
}

fn cli() -> Command {
    let serve = function_args(Command::new("serve").about(
        "Serve the durable-execution API and Lambda Invoke on loopback, hosting the declared \
         functions",
    ))
    .arg(
        Arg::new("host")
            .long("host")
            .default_value("127.0.0.1")
            .value_parser(clap::value_parser!(std::net::IpAddr))
            .help("Address to listen on"),
    )
    .arg(
        Arg::new("port")
            .long("port")
            .short('p')
            .default_value("9014")
            .value_parser(clap::value_parser!(u16))
            .help("Port to listen on (0: any free port)"),
    )
    .arg(
        Arg::new("idle-ms")
            .long("idle-ms")
            .default_value("0")
            .value_parser(clap::value_parser!(u64))
            .help("On virtual time, stay idle this long before jumping to the next timer"),
    )
    .arg(
        Arg::new("lambda-endpoint")
            .long("lambda-endpoint")
            .value_name("URL")
            .help("Invoke functions that are not declared through this Lambda endpoint (http://host:port)"),
    )
    .arg(
        Arg::new("function-configs")
            .long("function-configs")
            .value_name("FILE")
            .help("The functions the --lambda-endpoint runs (AWS emulator's JSON document), for chained invokes"),
    )
    .arg(
        Arg::new("store")
            .long("store")
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help("Keep executions in FILE so they survive a restart"),
    );
    let run = function_args(Command::new("run").about(
        "Start one execution of a declared function, drive it to its end and print its \
         timeline; exits non-zero unless it succeeded",
    ))
    .arg(Arg::new("name").required(true).value_name("FUNCTION"))
    .arg(
        Arg::new("event")
            .long("event")
            .short('e')
            .default_value("{}")
            .help("The execution's input (JSON)"),
    )
    .arg(
        Arg::new("event-file")
            .long("event-file")
            .value_parser(clap::value_parser!(PathBuf))
            .conflicts_with("event")
            .help("Read the input from a file"),
    )
    .arg(
        Arg::new("json")
            .long("json")
            .action(ArgAction::SetTrue)
            .help("Print the history (GetDurableExecutionHistory's JSON) instead of the timeline"),
    )
    .arg(
        Arg::new("html")
            .long("html")
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .help("Also write the timeline as a self-contained HTML page to FILE"),
    )
    .arg(
        Arg::new("wall-timeout")
            .long("wall-timeout")
            .default_value("300")
            .value_parser(clap::value_parser!(u64))
            .help("Give up after this many seconds of wall time"),
    );
    Command::new("durable-local")
        .about("Run Lambda durable functions locally on virtual time")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommand(serve)
        .subcommand(run)
}

fn functions(args: &ArgMatches) -> Result<Vec<FunctionSpec>, ServerError> {
    let mut specs = Vec::new();
    if let Some(path) = args.get_one::<PathBuf>("config") {
        specs.extend(load_config(path)?);
    }
    for flag in args.get_many::<String>("function").into_iter().flatten() {
        specs.push(FunctionSpec::parse_flag(flag)?);
    }
    Ok(specs)
}

fn options(args: &ArgMatches) -> ServeOptions {
    ServeOptions {
        time: if args.get_flag("real-time") {
            TimeMode::Real
        } else {
            TimeMode::Virtual
        },
        forward_output: !args.get_flag("quiet"),
        ..ServeOptions::default()
    }
}

async fn serve(args: &ArgMatches) -> Result<ExitCode, ServerError> {
    let mut options = options(args);
    options.host = *args.get_one("host").expect("has a default");
    options.port = *args.get_one("port").expect("has a default");
    options.idle_grace = Duration::from_millis(*args.get_one("idle-ms").expect("has a default"));
    options.store = args.get_one::<PathBuf>("store").cloned();
    options.lambda_endpoint = args.get_one::<String>("lambda-endpoint").cloned();
    options.function_configs = args.get_one::<String>("function-configs").cloned();
    let specs = functions(args)?;
    let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
    let time = options.time;
    let server = Server::start(specs, options).await?;
    eprintln!(
        "durable-local: serving on http://{} ({} time); functions: {}",
        server.addr(),
        if time == TimeMode::Virtual {
            "virtual"
        } else {
            "real"
        },
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    );
    eprintln!(
        "durable-local: export AWS_ENDPOINT_URL_LAMBDA=http://{}",
        server.addr()
    );
    shutdown_signal().await;
    eprintln!("durable-local: stopping");
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(args: &ArgMatches) -> Result<ExitCode, ServerError> {
    let name: &String = args.get_one("name").expect("required");
    let event = match args.get_one::<PathBuf>("event-file") {
        Some(path) => std::fs::read_to_string(path).map_err(|e| ServerError::Event {
            message: format!("cannot read {}: {e}", path.display()),
        })?,
        None => args
            .get_one::<String>("event")
            .expect("has a default")
            .clone(),
    };
    let wall = Duration::from_secs(*args.get_one("wall-timeout").expect("has a default"));
    let server = Server::start(functions(args)?, options(args)).await?;
    let arn = server.start_execution(name, &event)?;
    let ended = server.wait_for_end(&arn, wall).await;
    let now = lock_service(server.service()).now();
    server.shutdown().await;
    let record = ended?;
    if let Some(path) = args.get_one::<PathBuf>("html") {
        std::fs::write(path, timeline_html(&record, now)).map_err(|e| ServerError::Output {
            path: path.clone(),
            source: e,
        })?;
    }
    if args.get_flag("json") {
        println!("{}", history_to_json(record.events()));
    } else {
        println!("{}", Timeline::of(&record, now).render());
        println!("status: {}", record.status());
        if let Some(result) = record.result() {
            println!("result: {result}");
        }
        if let Some(error) = record.error() {
            println!(
                "error: {}: {}",
                error.error_type.as_deref().unwrap_or("Error"),
                error.error_message.as_deref().unwrap_or("")
            );
        }
    }
    Ok(if record.status() == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("durable-local: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match matches.subcommand() {
            Some(("serve", args)) => serve(args).await,
            Some(("run", args)) => run(args).await,
            _ => Ok(ExitCode::from(2)),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("durable-local: {e}");
            ExitCode::from(2)
        }
    }
}
