use clap::Parser;

use faultline::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    faultline::telemetry::init_tracing(cli.config.log_format);
    match &cli.command {
        None | Some(Command::Serve) => faultline::serve(&cli.config).await,
        Some(Command::Migrate) => faultline::cli::migrate(&cli.config).await,
        Some(Command::Project(command)) => faultline::cli::project(&cli.config, command).await,
    }
}
