use faultline::config::{Cli, Command};

/// mimalloc returns freed memory to the system promptly, where glibc's arenas kept a burst of large
/// bodies resident long after the requests ended.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_resolved();
    faultline::telemetry::init_tracing(cli.config.log_format);
    match &cli.command {
        None | Some(Command::Serve) => faultline::serve(&cli.config).await,
        Some(Command::Migrate) => faultline::cli::migrate(&cli.config).await,
        Some(Command::Project(command)) => faultline::cli::project(&cli.config, command).await,
        Some(Command::User(command)) => faultline::cli::user(&cli.config, command).await,
        Some(Command::Token(command)) => faultline::cli::token(&cli.config, command).await,
        Some(Command::Org(command)) => faultline::cli::org(&cli.config, command).await,
        Some(Command::Seed(args)) => faultline::cli::seed(&cli.config, args).await,
        Some(Command::BenchRules(args)) => faultline::cli::bench_rules(&cli.config, args).await,
    }
}
