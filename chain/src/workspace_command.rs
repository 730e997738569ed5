//! `chain workspace`: the workspace module's methods as signed transactions against a node's
//! JSON-RPC (the same function calls near-api-js makes), and readable listings of its views.
//!
//! Organization invitations and removals are treasury requests: the signer (a treasury
//! member) proposes and confirms them; other members confirm with `confirm-request`.
//! `create-credential` draws a 256-bit password here, sends only its sha256, and prints
//! `username:password` once.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use base64::Engine as _;
use chain_types::{Action, FunctionCallAction, Transaction};
use clap::{Args, Subcommand};
use genesis::KeyFile;
use rpc::client::RpcClient;
use serde_json::{json, Value};

#[derive(Args)]
pub struct Target {
    /// The node's JSON-RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:3030")]
    rpc: String,
    /// HTTP Basic credentials for the node, `username:password`, when it requires them.
    #[arg(long, env = "CHAIN_RPC_CREDENTIAL", hide_env_values = true)]
    credential: Option<String>,
    /// The workspace module's account.
    #[arg(long, default_value = "workspace")]
    workspace: String,
    /// The treasury's account (for organization requests).
    #[arg(long, default_value = "treasury")]
    treasury: String,
}

#[derive(Args)]
pub struct Signer {
    /// NEAR key file of the signing account (`{"account_id","public_key","secret_key"}`;
    /// near-cli's `private_key` is read too).
    #[arg(long)]
    key: PathBuf,
}

/// An invitation to act on, as the signer.
#[derive(Args)]
pub struct InvitationArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    signer: Signer,
    #[arg(long)]
    invitation: u64,
}

#[derive(Subcommand)]
pub enum WorkspaceCommand {
    /// Organizations (members with roles, validators), invitations (pending, expired or
    /// used) and, with --org, only that organization's invitations and its credentials.
    List {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        org: Option<String>,
    },
    /// Treasury request: invite a new organization whose admin is `--admin`.
    InviteOrganization {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin: String,
        #[arg(long)]
        expires_in_blocks: Option<u64>,
    },
    /// Treasury request: remove an organization and its validators (at the epoch's end).
    RemoveOrganization {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
    },
    /// Confirm a pending treasury request (it runs on the last confirmation needed).
    ConfirmRequest {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        request: u32,
    },
    /// Accept an invitation made to the signer.
    Accept(InvitationArgs),
    /// Decline an invitation made to the signer.
    Decline(InvitationArgs),
    /// Revoke a pending invitation: a user's as an admin of its organization; an
    /// organization's as a treasury member (a treasury request, proposed and confirmed).
    RevokeInvitation(InvitationArgs),
    /// Invite an account into an organization with a role (admin, operator, member, viewer).
    InviteUser {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        expires_in_blocks: Option<u64>,
    },
    /// Change a member's role.
    SetRole {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        account: String,
        #[arg(long)]
        role: String,
    },
    /// Remove a member from an organization.
    RemoveUser {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        account: String,
    },
    /// Create a credential for the organization's membership (role read, submit or admin);
    /// prints `username:password` once.
    CreateCredential {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Revoke a credential: the membership's nodes refuse it from the next block.
    RevokeCredential {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        signer: Signer,
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
    },
}

impl Target {
    fn client(&self) -> anyhow::Result<RpcClient> {
        let rpc = RpcClient::new(self.rpc.clone());
        Ok(match &self.credential {
            Some(c) => {
                let (user, password) = c.split_once(':').context("--credential must be username:password")?;
                rpc.with_basic_auth(user, password)
            }
            None => rpc,
        })
    }
}

pub async fn run(command: WorkspaceCommand) -> anyhow::Result<()> {
    use WorkspaceCommand as W;
    match command {
        W::List { target, org } => list(&target, org.as_deref()).await,
        W::InviteOrganization { target, signer, org, name, admin, expires_in_blocks } => {
            let args = json!({"org_id": org, "name": name, "admin": admin, "expires_in_blocks": expires_in_blocks});
            let call = json!({"type": "FunctionCall", "method_name": "invite_organization",
                "args": base64::engine::general_purpose::STANDARD.encode(args.to_string()), "deposit": "0", "gas": "100000000000000"});
            propose(&target, &signer, json!({"receiver_id": target.workspace, "actions": [call]})).await
        }
        W::RemoveOrganization { target, signer, org } => {
            let action = json!({"type": "RemoveOrganization", "org_id": org});
            propose(&target, &signer, json!({"receiver_id": target.treasury, "actions": [action]})).await
        }
        W::ConfirmRequest { target, signer, request } => {
            let treasury = target.treasury.clone();
            call(&target, &signer, &treasury, "confirm", json!({"request_id": request})).await?;
            report_request(&target, request).await
        }
        W::Accept(a) => invitation(a, "accept_invitation", "accepted").await,
        W::Decline(a) => invitation(a, "decline_invitation", "declined").await,
        W::RevokeInvitation(a) => {
            let all = view(&a.target, &a.target.workspace, "get_invitations", json!({})).await?;
            let found = all.as_array().into_iter().flatten().find(|i| i["id"] == json!(a.invitation));
            let Some(inv) = found else { bail!("there is no invitation {}", a.invitation) };
            if inv["kind"] == "organization" {
                let args = json!({"invitation_id": a.invitation}).to_string();
                let call = json!({"type": "FunctionCall", "method_name": "revoke_invitation",
                    "args": base64::engine::general_purpose::STANDARD.encode(args), "deposit": "0", "gas": "100000000000000"});
                propose(&a.target, &a.signer, json!({"receiver_id": a.target.workspace, "actions": [call]})).await
            } else {
                invitation(a, "revoke_invitation", "revoked").await
            }
        }
        W::InviteUser { target, signer, org, account, role, expires_in_blocks } => {
            let args =
                json!({"org_id": org, "account_id": account, "role": role, "expires_in_blocks": expires_in_blocks});
            let id = call(&target, &signer, &target.workspace, "invite_user", args).await?;
            println!("invitation {id}: {account} into {org} as {role}; they accept with `chain workspace accept --invitation {id}`");
            Ok(())
        }
        W::SetRole { target, signer, org, account, role } => {
            let args = json!({"org_id": org, "account_id": account, "role": role});
            call(&target, &signer, &target.workspace, "set_role", args).await?;
            println!("{account} is now {role} in {org}");
            Ok(())
        }
        W::RemoveUser { target, signer, org, account } => {
            call(&target, &signer, &target.workspace, "remove_user", json!({"org_id": org, "account_id": account}))
                .await?;
            println!("removed {account} from {org}");
            Ok(())
        }
        W::CreateCredential { target, signer, org, username, role } => {
            let mut secret = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
            let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
            let hash = chain_types::sha256(password.as_bytes());
            let args = json!({"org_id": org, "username": username, "role": role, "password_sha256": hash});
            if let Err(e) = call(&target, &signer, &target.workspace, "create_credential", args).await {
                if e.downcast_ref::<Refused>().is_none() {
                    // Sent but not seen final (a timeout, a dropped connection): it may still
                    // be created, and this is the only place its password exists.
                    eprintln!("the transaction's outcome is unknown ({e}); if `list --org {org}` shows `{username}`, this is its password:");
                    println!("{username}:{password}");
                }
                return Err(e);
            }
            eprintln!(
                "created credential `{username}` ({role}) for membership {org}; the chain keeps only its sha256."
            );
            eprintln!("It follows as username:password, shown this once:");
            println!("{username}:{password}");
            Ok(())
        }
        W::RevokeCredential { target, signer, org, username } => {
            call(
                &target,
                &signer,
                &target.workspace,
                "revoke_credential",
                json!({"org_id": org, "username": username}),
            )
            .await?;
            println!("revoked credential `{username}` of {org}; its nodes refuse it from this block on");
            Ok(())
        }
    }
}

async fn invitation(a: InvitationArgs, method: &str, done: &str) -> anyhow::Result<()> {
    call(&a.target, &a.signer, &a.target.workspace, method, json!({"invitation_id": a.invitation})).await?;
    println!("{done} invitation {}", a.invitation);
    Ok(())
}

/// Signs a function call from the key file's account, sends it waiting for FINAL, and
/// returns its JSON result; a refusal is an error carrying the module's message.
async fn call(target: &Target, signer: &Signer, receiver: &str, method: &str, args: Value) -> anyhow::Result<Value> {
    let key = KeyFile::load(&signer.key)?;
    let rpc = target.client()?;
    let nonce = rpc.nonce(&key.account_id, &key.public_key).await.context("reading the signing key's nonce")? + 1;
    let tx = Transaction {
        signer_id: key.account_id.clone(),
        public_key: key.public_key,
        nonce,
        receiver_id: receiver.parse().map_err(|e| anyhow::anyhow!("receiver {receiver}: {e}"))?,
        block_hash: rpc.final_block_hash().await?,
        actions: vec![Action::FunctionCall(Box::new(FunctionCallAction {
            method_name: method.into(),
            args: args.to_string().into_bytes(),
            gas: 100_000_000_000_000,
            deposit: 0,
        }))],
    }
    .sign(&key.secret_key);
    let outcome = rpc.send_tx(&tx, "FINAL").await.map_err(|e| match e.cause() {
        // Refused before it ran (a bad nonce, an unknown key): nothing happened.
        Some(cause) if cause != "TIMEOUT_ERROR" => anyhow::Error::new(Refused(format!("{method} refused: {e}"))),
        _ => anyhow::Error::new(e),
    })?;
    let status = &outcome["status"];
    if let Some(value) = status["SuccessValue"].as_str() {
        let bytes = base64::engine::general_purpose::STANDARD.decode(value)?;
        return Ok(if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes)? });
    }
    let message = status["Failure"]["ActionError"]["kind"]["FunctionCallError"]["ExecutionError"]
        .as_str()
        .map_or_else(|| status.to_string(), str::to_owned);
    Err(Refused(format!("{method} by {} refused: {message} (transaction {})", key.account_id, tx.hash())).into())
}

/// The node or the module refused the transaction: nothing of it happened.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// Adds a treasury request and confirms it as the signer; says whether it ran.
async fn propose(target: &Target, signer: &Signer, request: Value) -> anyhow::Result<()> {
    let treasury = target.treasury.clone();
    let id = call(target, signer, &treasury, "add_request_and_confirm", json!({"request": request})).await?;
    let id = id.as_u64().context("the treasury returned no request id")?;
    report_request(target, u32::try_from(id)?).await
}

async fn report_request(target: &Target, id: u32) -> anyhow::Result<()> {
    let r = view(target, &target.treasury, "get_request", json!({"request_id": id})).await?;
    match r["outcome"]["status"].as_str() {
        Some("executed") => println!("treasury request {id} executed: {}", r["outcome"]["logs"]),
        Some("failed") => bail!("treasury request {id} ran and failed: {}", r["outcome"]["error"]),
        _ => {
            let n = view(target, &target.treasury, "get_num_confirmations", json!({})).await?;
            println!(
                "treasury request {id} is pending with {} of {n} confirmations; other members run `chain workspace confirm-request --request {id}`",
                r["confirmations"].as_array().map_or(0, Vec::len)
            )
        }
    }
    Ok(())
}

async fn view(target: &Target, account: &str, method: &str, args: Value) -> anyhow::Result<Value> {
    let rpc = target.client()?;
    let args = base64::engine::general_purpose::STANDARD.encode(args.to_string());
    let r = rpc
        .call(
            "query",
            json!({"request_type": "call_function", "finality": "final", "account_id": account,
                "method_name": method, "args_base64": args}),
        )
        .await?;
    let bytes: Vec<u8> = serde_json::from_value(r["result"].clone()).context("call_function result")?;
    Ok(serde_json::from_slice(&bytes)?)
}

async fn list(target: &Target, org: Option<&str>) -> anyhow::Result<()> {
    let ws = target.workspace.as_str();
    let orgs = view(target, ws, "get_organizations", json!({})).await?;
    println!("ORGANIZATIONS");
    for o in orgs.as_array().into_iter().flatten() {
        let validators: Vec<&str> =
            o["validators"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!(
            "  {} ({}), joined at block {}, validators: {}",
            o["id"].as_str().unwrap_or("?"),
            o["name"].as_str().unwrap_or("?"),
            o["joined_at"],
            if validators.is_empty() { "none".to_owned() } else { validators.join(", ") }
        );
        for (account, role) in o["members"].as_object().into_iter().flatten() {
            println!("    {account:<40} {}", role.as_str().unwrap_or("?"));
        }
    }
    let mut invitations = json!({});
    if let Some(org) = org {
        invitations["org_id"] = json!(org);
    }
    let invitations = view(target, ws, "get_invitations", invitations).await?;
    println!("INVITATIONS");
    println!(
        "  {:>4} {:<12} {:<16} {:<32} {:<9} {:>10} {:<9}",
        "ID", "KIND", "ORGANIZATION", "INVITEE", "ROLE", "EXPIRES", "STATUS"
    );
    for i in invitations.as_array().into_iter().flatten() {
        println!(
            "  {:>4} {:<12} {:<16} {:<32} {:<9} {:>10} {:<9}",
            i["id"],
            i["kind"].as_str().unwrap_or("?"),
            i["org_id"].as_str().unwrap_or("?"),
            i["invitee"].as_str().unwrap_or("?"),
            i["role"].as_str().unwrap_or("admin"),
            i["expires_at"],
            i["status"].as_str().unwrap_or("?"),
        );
    }
    if let Some(org) = org {
        let creds = view(target, ws, "get_credentials", json!({"org_id": org})).await?;
        println!("CREDENTIALS of {org}");
        println!("  {:<32} {:<7} {:<32} {:>8} {:>8}", "USERNAME", "ROLE", "CREATED BY", "AT", "REVOKED");
        for c in creds.as_array().into_iter().flatten() {
            let revoked = c["revoked_at"].as_u64().map_or_else(|| "-".to_owned(), |h| h.to_string());
            println!(
                "  {:<32} {:<7} {:<32} {:>8} {:>8}",
                c["username"].as_str().unwrap_or("?"),
                c["role"].as_str().unwrap_or("?"),
                c["created_by"].as_str().unwrap_or("?"),
                c["created_at"],
                revoked
            );
        }
    }
    Ok(())
}
