//! `authhost logout PROVIDER`: revokes the login at the service where the
//! plugin can, and removes the stored and cached credentials.

use std::process::ExitCode;

use authhost::Host;

use super::Io;

/// `authhost logout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider.
    #[arg(add = super::completions::provider())]
    provider: String,
}

/// Logs out; what was done is said on stderr.
pub async fn run(io: &Io, host: &Host, args: &Args) -> anyhow::Result<ExitCode> {
    let provider = &args.provider;
    let outcome = host.logout(provider).await?;
    if let Some(error) = &outcome.revoke_error {
        errln!(
            io,
            "warning: could not revoke the login at the service: {error}"
        );
    }
    if let Some(why) = &outcome.revoke_skipped {
        errln!(
            io,
            "warning: did not revoke the login at the service: {why}; revoke it there if it may have leaked"
        );
    }
    match (outcome.removed, outcome.revoked) {
        (true, true) => {
            errln!(
                io,
                "Revoked the login of {provider} and removed its credentials"
            )
        }
        (true, false) => errln!(io, "Removed the credentials of {provider}"),
        (false, _) => errln!(io, "Nothing was stored for {provider}"),
    }
    Ok(ExitCode::SUCCESS)
}
