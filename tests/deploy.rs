//! deploy/: the multi-process layout behind nginx answering from the right target, and
//! the shapes that cannot run here (compose, Kubernetes, systemd) checked against the
//! descriptor table: every target present, every route routed, every setting known.

use std::time::Duration;

use pharos_test_support::TestDb;
use pharos_test_support::layout::{self, Layout};
use pharos_test_support::process::{ADMIN, PASSWORD, login};

/// A pole manager the smoke test creates (the administrator sees no programme).
const POLE: &str = "pole@ac-toulouse.fr";

/// Waits until nginx's log has a line satisfying `matches` (nginx writes a request's
/// line once it has answered, so just after the client reads the answer).
async fn logged(layout: &Layout, what: &str, matches: impl Fn(&str) -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let log = layout.nginx_log();
        if log.lines().any(&matches) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nginx logged no {what}:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// nginx's access log says `target`'s process answered `method path`.
async fn answered_by(layout: &Layout, method: &str, path: &str, target: &str) {
    let request = format!("\"{method} {path} ");
    let upstream = layout.direct(target).replace("http://", "");
    logged(
        layout,
        &format!("{method} {path} answered by {target}"),
        |l| l.contains(&request) && l.contains(&upstream),
    )
    .await;
}

/// The value of cookie `name` in a response's `Set-Cookie` headers.
fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_owned()
}

/// Every target as its own process on PostgreSQL behind nginx: each target's status
/// route, a login, a GraphQL query, an export route and the pages (which reach the API
/// back through nginx) all answer through the one public port, from the right process;
/// request ids pass through; stopping exits every process cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_target_answers_through_nginx() {
    if layout::nginx().is_none() {
        return;
    }
    let Some(db) = TestDb::postgres("pharos_deploy_layout").await else {
        return;
    };
    let started = std::time::Instant::now();
    let mut layout = Layout::start(&db.url, None).await;
    eprintln!("layout ready in {:?}", started.elapsed());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let base = &layout.base;

    for target in layout.targets() {
        let path = format!("/api/v1/targets/{target}");
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["target"], target, "{path}");
        let ready: serde_json::Value = client
            .get(format!("{}/readyz", layout.direct(target)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["backend"], "postgres", "{target}: {ready}");
        assert_eq!(ready["targets"], serde_json::json!([target]), "{target}");
    }

    let token = login(&client, base, ADMIN, PASSWORD).await;
    answered_by(&layout, "POST", "/api/v1/auth/login", "directory").await;

    // The request id given by the client reaches the target and comes back.
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .header("x-request-id", "deploy-smoke-1")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["x-request-id"], "deploy-smoke-1");
    logged(&layout, "request id", |l| l.ends_with(" deploy-smoke-1")).await;

    // The administrator sees the platform, not the programmes: a pole manager does.
    let created = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "email": POLE, "display_name": "Pôle", "role": "pole_manager", "password": PASSWORD
        }))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    answered_by(&layout, "POST", "/api/v1/users", "directory").await;
    let pole = login(&client, base, POLE, PASSWORD).await;

    let trainings = client
        .get(format!("{base}/api/v1/trainings"))
        .bearer_auth(&pole)
        .send()
        .await
        .unwrap();
    assert_eq!(trainings.status(), 200);
    answered_by(&layout, "GET", "/api/v1/trainings", "trainings").await;

    let graphql: serde_json::Value = client
        .post(format!("{base}/graphql"))
        .bearer_auth(&pole)
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(graphql["data"]["__typename"].is_string(), "{graphql}");
    answered_by(&layout, "POST", "/graphql", "read-model").await;

    let rules = client
        .get(format!("{base}/api/v1/reminder-rules"))
        .bearer_auth(&pole)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.status(), 200);
    answered_by(&layout, "GET", "/api/v1/reminder-rules", "reminders").await;

    // The proxy answers its own liveness; per-process metrics stay off the public port.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 404);

    // The pages: log in with the form, then the dashboard, which the pages process builds
    // from GraphQL reached through nginx (PHAROS_API_URL).
    let form = client
        .get(format!("{base}/connexion"))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let csrf = cookie(&form, "pharos_csrf");
    let html = form.text().await.unwrap();
    assert!(html.contains("Connexion"), "{html}");
    answered_by(&layout, "GET", "/connexion", "pages").await;
    let body = format!(
        "email={}&password={}&csrf={csrf}",
        POLE.replace('@', "%40"),
        PASSWORD
    );
    let logged_in = client
        .post(format!("{base}/connexion"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", base.as_str())
        .header("cookie", format!("pharos_csrf={csrf}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        logged_in.status(),
        303,
        "{}",
        logged_in.text().await.unwrap()
    );
    let session = cookie(&logged_in, "pharos_session");
    let queries_before = layout
        .nginx_log()
        .lines()
        .filter(|l| l.contains("\"POST /graphql "))
        .count();
    let dashboard = client
        .get(format!("{base}/tableau-de-bord"))
        .header("cookie", format!("pharos_session={session}"))
        .send()
        .await
        .unwrap();
    if dashboard.status() != 200 {
        let status = dashboard.status();
        let page = dashboard.text().await.unwrap_or_default();
        panic!(
            "the dashboard answered {status}:\n{page}\n{}",
            layout.logs_of(&["pages", "read-model"])
        );
    }
    assert!(
        dashboard
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"))
    );
    // The dashboard's GraphQL queries went through nginx to read-model.
    let upstream = layout.direct("read-model").replace("http://", "");
    let queries = |log: &str| {
        log.lines()
            .filter(|l| l.contains("\"POST /graphql ") && l.contains(&upstream))
            .count()
    };
    assert!(
        queries(&layout.nginx_log()) > queries_before,
        "the dashboard did not query GraphQL through nginx"
    );
    layout.stop();
    db.finish().await;
}

// ---- The shapes that cannot run here, checked against the descriptor table ----

fn deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(relative: &str) -> String {
    let path = deploy_dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The YAML documents of a file (`---` separated), merge keys (`<<`) applied, as JSON.
fn yaml_documents(relative: &str) -> Vec<serde_json::Value> {
    let text = read(relative);
    let mut documents = Vec::new();
    let mut current = String::new();
    for line in text.lines().chain(std::iter::once("---")) {
        if line == "---" {
            let mut value: serde_norway::Value =
                serde_norway::from_str(&current).unwrap_or_else(|e| panic!("{relative}: {e}"));
            value.apply_merge().unwrap();
            if !value.is_null() {
                documents.push(serde_json::to_value(value).unwrap());
            }
            current.clear();
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    documents
}

fn targets() -> Vec<&'static str> {
    pharos::targets::names()
}

/// Whether `pharos` accepts the environment variable `name` set to `value`: `PHAROS_LOG`
/// (the log filter), `PHAROS_CONFIG`, or `PHAROS_<setting>` of the settings file, with a
/// value of the setting's type (read as figment reads the environment).
fn accepted_setting(name: &str, value: &str) -> Result<(), String> {
    if name == "PHAROS_LOG" || name == "PHAROS_CONFIG" {
        return Ok(());
    }
    let key = name
        .strip_prefix("PHAROS_")
        .ok_or_else(|| format!("{name} is not a PHAROS_ setting"))?
        .to_lowercase();
    // As figment reads the environment: the text, or a boolean, or a number.
    let mut candidates = vec![serde_json::json!(value)];
    if let Ok(b) = value.parse::<bool>() {
        candidates.push(serde_json::json!(b));
    }
    if let Ok(n) = value.parse::<u64>() {
        candidates.push(serde_json::json!(n));
    }
    let mut error = String::new();
    for candidate in candidates {
        match serde_json::from_value::<pharos_test_support::RawConfig>(
            serde_json::json!({ key.clone(): candidate }),
        ) {
            Ok(_) => return Ok(()),
            Err(e) if error.is_empty() => error = format!("{name}={value}: {e}"),
            Err(_) => {}
        }
    }
    Err(error)
}

fn assert_settings<'a>(what: &str, env: impl IntoIterator<Item = (&'a str, String)>) {
    let mut checked = 0;
    for (name, value) in env {
        if name.starts_with("PHAROS_") {
            accepted_setting(name, &value).unwrap_or_else(|e| panic!("{what}: {e}"));
            checked += 1;
        }
    }
    assert!(checked > 0, "{what}: no setting");
}

fn as_str_map(value: &serde_json::Value) -> Vec<(&str, String)> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k.as_str(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The template's placeholders, each with the value a shape gives it.
fn placeholders() -> Vec<String> {
    let mut names = vec!["LISTEN".to_owned(), "ACCESS_LOG".to_owned()];
    names.extend(targets().into_iter().map(layout::upstream_placeholder));
    names
}

/// Where nginx sends a request: an upstream's name, or `nginx` when it answers itself.
#[derive(Debug)]
struct Location {
    exact: bool,
    path: String,
    to: String,
    max_body: Option<u64>,
}

/// `2m`, `20m`, `2g` in bytes.
fn size(text: &str) -> u64 {
    let (digits, unit) = text.split_at(text.len() - 1);
    let factor = match unit {
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return text.parse().unwrap(),
    };
    digits.parse::<u64>().unwrap() * factor
}

/// The template's `location` blocks and the server's body limit. Only exact (`=`) and
/// plain prefix locations: a regex would make this matcher lie, so it is refused.
fn locations() -> (Vec<Location>, u64) {
    let text = std::fs::read_to_string(layout::template_path()).unwrap();
    let text: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let mut locations = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("location ") {
        rest = &rest[at + "location ".len()..];
        let open = rest.find('{').unwrap();
        let words: Vec<&str> = rest[..open].split_whitespace().collect();
        let (exact, path) = match words.as_slice() {
            ["=", path] => (true, *path),
            [path] if path.starts_with('/') => (false, *path),
            other => panic!("only `= /path` and `/prefix` locations, not {other:?}"),
        };
        let close = rest.find('}').unwrap();
        let body = &rest[open + 1..close];
        let to = if let Some(pass) = body.split("proxy_pass http://").nth(1) {
            pass.split([';', '/']).next().unwrap().trim()
        } else {
            assert!(body.contains("return "), "location {path}: {body}");
            "nginx"
        };
        let max_body = body
            .split("client_max_body_size")
            .nth(1)
            .map(|v| size(v.split(';').next().unwrap().trim()));
        locations.push(Location {
            exact,
            path: path.to_owned(),
            to: to.to_owned(),
            max_body,
        });
        rest = &rest[close..];
    }
    let server_limit = text
        .split("server {")
        .nth(1)
        .and_then(|s| s.split("location ").next())
        .and_then(|s| s.split("client_max_body_size").nth(1))
        .map(|v| size(v.split(';').next().unwrap().trim()))
        .expect("a server-wide client_max_body_size");
    (locations, server_limit)
}

/// nginx's choice without regexes: an exact match, else the longest prefix.
fn route<'a>(locations: &'a [Location], path: &str) -> &'a Location {
    locations
        .iter()
        .find(|l| l.exact && l.path == path)
        .or_else(|| {
            locations
                .iter()
                .filter(|l| !l.exact && path.starts_with(&l.path))
                .max_by_key(|l| l.path.len())
        })
        .unwrap_or_else(|| panic!("no location for {path}"))
}

/// `/api/v1/entries/{id}/files` → `/api/v1/entries/p1/files`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "p1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The web pages' routes, read from the pages crate's source (HTML routes are not in the
/// OpenAPI document).
fn page_routes() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/pages/src");
    let mut routes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for after in source.split(".route(").skip(1) {
            let after = after.trim_start();
            if let Some(literal) = after.strip_prefix('"') {
                routes.push(literal.split('"').next().unwrap().to_owned());
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// Every path of each target's OpenAPI document, each target's status route and every
/// web page reach the target that serves them; uploads get the body size they need;
/// the proxy's own routes are its own.
#[test]
fn the_template_routes_every_path_to_its_target() {
    let (locations, server_limit) = locations();
    let mut checked = 0;
    for target in pharos::targets::TARGETS {
        let document = (target.openapi)();
        let paths: Vec<String> = document.paths.paths.keys().cloned().collect();
        assert!(
            target.name == "pages" || !paths.is_empty(),
            "{} documents no path",
            target.name
        );
        for path in paths
            .iter()
            .map(|p| concrete(p))
            .chain([format!("/api/v1/targets/{}", target.name)])
        {
            let location = route(&locations, &path);
            assert_eq!(
                location.to, target.name,
                "{path} goes to {} (location {})",
                location.to, location.path
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} paths");
    let pages = page_routes();
    assert!(
        pages.len() > 30,
        "only {} page routes: {pages:?}",
        pages.len()
    );
    for page in &pages {
        let path = concrete(page).replace("{*path}", "app.css");
        assert_eq!(route(&locations, &path).to, "pages", "{path}");
    }
    for (path, to) in [
        ("/healthz", "nginx"),
        ("/metrics", "nginx"),
        ("/readyz", "directory"),
        ("/graphql/ws", "read-model"),
    ] {
        assert_eq!(route(&locations, path).to, to, "{path}");
    }

    let defaults = pharos_test_support::RawConfig::default();
    assert!(server_limit >= defaults.body_limit_bytes as u64);
    let import = route(&locations, "/api/v1/schools/import");
    assert!(import.max_body.unwrap_or(server_limit) >= defaults.upload_limit_bytes as u64);
    // A contest production: up to 2 GiB (the editions' hard maximum).
    let production = route(&locations, "/api/v1/entries/p1/files");
    assert!(production.max_body.unwrap_or(server_limit) >= 2 << 30);
}

/// Renders the template as `shape` does and has nginx test it (`nginx -t`).
fn nginx_test(shape: &str, upstream: impl Fn(&str) -> String) {
    let Some(nginx) = layout::nginx() else { return };
    let dir = std::env::temp_dir().join(format!("pharos-nginx-t-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let server = dir.join("pharos.conf");
    let rendered = layout::render(
        "127.0.0.1:8080",
        &dir.join("access.log").display().to_string(),
        upstream,
    );
    std::fs::write(&server, rendered).unwrap();
    std::fs::write(dir.join("nginx.conf"), layout::main_config(&dir, &server)).unwrap();
    let output = std::process::Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{shape}: nginx -t refused the template:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// nginx accepts the template rendered for the layout and for the systemd shape (the
/// compose and Kubernetes shapes name hosts only their DNS resolves).
#[test]
fn nginx_accepts_the_rendered_template() {
    nginx_test("local", |t| {
        let i = targets().iter().position(|x| *x == t).unwrap();
        format!("127.0.0.1:{}", 18081 + i)
    });
    let site = read("systemd/nginx-site.env");
    let values: std::collections::BTreeMap<&str, &str> = site
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = values.keys().copied().collect();
    let mut expected = placeholders();
    expected.sort();
    assert_eq!(names, expected, "systemd/nginx-site.env");
    nginx_test("systemd", |t| {
        values[layout::upstream_placeholder(t).as_str()].to_owned()
    });
}

/// The compose file: a service per target (read-model and reminders twice), nginx
/// rendering the one template with each target's service, settings pharos accepts.
#[test]
fn compose_mirrors_the_descriptor_table() {
    let compose = &yaml_documents("compose/docker-compose.yml")[0];
    let services = compose["services"].as_object().unwrap();
    for target in targets() {
        let service = services
            .get(target)
            .unwrap_or_else(|| panic!("no compose service for {target}"));
        assert_eq!(
            service["command"],
            serde_json::json!(["serve", "--target", target]),
            "{target}"
        );
        if matches!(target, "read-model" | "reminders") {
            assert!(
                service["deploy"]["replicas"].as_u64() >= Some(2),
                "{target}"
            );
        }
        let env = as_str_map(&service["environment"]);
        assert_settings(target, env.clone());
        let env: std::collections::BTreeMap<_, _> = env.into_iter().collect();
        assert_eq!(env["PHAROS_ADDR"], "0.0.0.0:8080", "{target}");
        assert_eq!(env["PHAROS_API_URL"], "http://nginx:8080", "{target}");
    }
    let mut extra: Vec<&String> = services
        .keys()
        .filter(|s| !targets().contains(&s.as_str()))
        .collect();
    extra.sort();
    assert_eq!(extra, ["mail", "nginx", "postgres"]);

    let nginx = &services["nginx"];
    let mount = nginx["volumes"][0].as_str().unwrap();
    let (host, container) = mount.split_once(':').unwrap();
    assert!(
        deploy_dir()
            .join("compose")
            .join(host)
            .canonicalize()
            .unwrap()
            == layout::template_path().canonicalize().unwrap(),
        "nginx mounts {host}, not the template"
    );
    assert!(container.starts_with("/etc/nginx/templates/default.conf.template"));
    let env: std::collections::BTreeMap<_, _> =
        as_str_map(&nginx["environment"]).into_iter().collect();
    let filter = env["NGINX_ENVSUBST_FILTER"]
        .trim_start_matches("^(")
        .trim_end_matches(')')
        .split('|')
        .collect::<Vec<_>>();
    for name in placeholders() {
        assert!(env.contains_key(name.as_str()), "nginx: {name} unset");
        assert!(
            filter.iter().any(|f| name.starts_with(f)),
            "{name} filtered out"
        );
    }
    for target in targets() {
        assert_eq!(
            env[layout::upstream_placeholder(target).as_str()],
            format!("{target}:8080")
        );
    }
}

/// The Kubernetes manifests: a Deployment and a Service per target, probes on /readyz
/// and /healthz, read-model and reminders with two replicas, settings and secrets
/// pharos accepts, nginx rendering the template with each target's Service.
#[test]
fn kubernetes_mirrors_the_descriptor_table() {
    let kustomization = &yaml_documents("kubernetes/kustomization.yaml")[0];
    let mut documents = Vec::new();
    for file in kustomization["resources"].as_array().unwrap() {
        documents.extend(yaml_documents(&format!(
            "kubernetes/{}",
            file.as_str().unwrap()
        )));
    }
    let find = |kind: &str, name: &str| {
        documents
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let config = find("ConfigMap", "pharos-config");
    assert_settings("ConfigMap pharos-config", as_str_map(&config["data"]));
    let secret = &yaml_documents("kubernetes/secret.example.yaml")[0];
    assert_settings("Secret pharos-secrets", as_str_map(&secret["stringData"]));

    for target in targets() {
        let name = format!("pharos-{target}");
        let deployment = find("Deployment", &name);
        let pod = &deployment["spec"]["template"];
        let container = &pod["spec"]["containers"][0];
        assert_eq!(
            container["args"],
            serde_json::json!(["serve", "--target", target]),
            "{name}"
        );
        assert_eq!(
            container["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{name}"
        );
        assert_eq!(
            container["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{name}"
        );
        let replicas = deployment["spec"]["replicas"].as_u64().unwrap();
        if matches!(target, "read-model" | "reminders") {
            assert!(replicas >= 2, "{name}: the lease needs a standby");
        }
        assert_eq!(
            container["envFrom"][0]["configMapRef"]["name"], "pharos-config",
            "{name}"
        );
        for env in container["env"].as_array().unwrap() {
            let env_name = env["name"].as_str().unwrap();
            let key = &env["valueFrom"]["secretKeyRef"];
            assert_eq!(key["name"], "pharos-secrets", "{name}: {env_name}");
            let key = key["key"].as_str().unwrap();
            assert_eq!(key, env_name);
            assert!(
                secret["stringData"].get(key).is_some(),
                "{name}: {key} is not in secret.example.yaml"
            );
        }
        let service = find("Service", &name);
        assert_eq!(
            service["spec"]["selector"], pod["metadata"]["labels"],
            "{name}: the Service selects another pod"
        );
        assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    }

    let nginx = find("Deployment", "pharos-nginx");
    let container = &nginx["spec"]["template"]["spec"]["containers"][0];
    let env: std::collections::BTreeMap<&str, &str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    for name in placeholders() {
        assert!(
            env.contains_key(name.as_str()),
            "pharos-nginx: {name} unset"
        );
    }
    for target in targets() {
        assert_eq!(
            env[layout::upstream_placeholder(target).as_str()],
            format!("pharos-{target}:8080")
        );
    }
    assert_eq!(
        config["data"]["PHAROS_API_URL"],
        format!("http://pharos-nginx:{}", env["LISTEN"])
    );
    find("Service", "pharos-nginx");
    find("Ingress", "pharos");
}

/// The systemd shape: one templated unit for every target, reading a shared settings
/// file pharos accepts and one per target.
#[test]
fn systemd_units_mirror_the_descriptor_table() {
    let unit = read("systemd/pharos@.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/pharos serve --target %i"));
    assert!(unit.contains("EnvironmentFile=/etc/pharos/pharos.env"));
    assert!(unit.contains("EnvironmentFile=/etc/pharos/%i.env"));
    let example = read("systemd/pharos.env.example");
    assert_settings(
        "pharos.env.example",
        example
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap();
                (k, v.to_owned())
            }),
    );
}

/// deploy/local/run.sh itself: every target, the SMTP sink and nginx up on the ports
/// asked, the same routing through the public port, and SIGTERM stopping all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_script_runs_every_target_behind_nginx() {
    let script = deploy_dir().join("local/run.sh");
    let text = read("local/run.sh");
    let listed: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("targets=("))
        .and_then(|l| l.strip_suffix(')'))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        listed,
        targets(),
        "run.sh's targets are not the descriptor table's"
    );
    let help = std::process::Command::new("bash")
        .arg(&script)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: deploy/local/run.sh"));

    if layout::nginx().is_none() {
        return;
    }
    let Some(db) = TestDb::postgres("pharos_deploy_script").await else {
        return;
    };
    run_script(Some(&db.url)).await;
    db.finish().await;
}

/// deploy/local/run.sh without DATABASE_URL: it starts PostgreSQL of its own (initdb in
/// its directory), and stops it with the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_script_starts_its_own_postgresql() {
    if layout::nginx().is_none() {
        return;
    }
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .is_ok_and(|mut versions| versions.any(|v| v.unwrap().path().join("bin/initdb").is_file()));
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL's server binaries are missing (apt-get install postgresql)"
        );
        eprintln!("no /usr/lib/postgresql/*/bin/initdb: skipped");
        return;
    }
    run_script(None).await;
}

/// Runs deploy/local/run.sh on free ports (on `database_url`, or its own PostgreSQL),
/// probes it through its public port, then stops it with SIGTERM.
async fn run_script(database_url: Option<&str>) {
    use std::io::BufRead;

    let script = deploy_dir().join("local/run.sh");
    let base_port = layout::free_ports(targets().len() as u16 + 1);
    let smtp_port = layout::free_port();
    let dir = std::env::temp_dir().join(format!("pharos-run-sh-{}", uuid::Uuid::now_v7()));
    let mut command = std::process::Command::new("bash");
    command.arg(&script);
    match database_url {
        Some(url) => command.env("DATABASE_URL", url),
        None => command
            .env_remove("DATABASE_URL")
            .args(["--pg-port", &layout::free_port().to_string()]),
    };
    let mut child = command
        .args(["--port", &base_port.to_string()])
        .args(["--smtp-port", &smtp_port.to_string()])
        .arg("--dir")
        .arg(&dir)
        .arg("--bin")
        .arg(pharos_test_support::process::binary())
        .env("PHAROS_ADMIN_EMAIL", ADMIN)
        .env("PHAROS_ADMIN_PASSWORD", PASSWORD)
        // As the layout: nine small pools on a PostgreSQL other tests share.
        .env("PHAROS_MAX_CONNECTIONS", "4")
        .env_remove("PHAROS_SMTP_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, ready) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut text);
        text
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match ready.recv_timeout(left) {
            Ok(line) if line.starts_with("Pharos ready on") => break,
            Ok(_) => {}
            Err(_) => {
                // SIGTERM: the script's trap stops what it started.
                let _ = std::process::Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                panic!("run.sh not ready within 180 s:\n{}", errors.join().unwrap());
            }
        }
    }

    let base = format!("http://127.0.0.1:{base_port}");
    let client = reqwest::Client::new();
    for target in targets() {
        let response = client
            .get(format!("{base}/api/v1/targets/{target}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{target}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["target"], target);
    }
    let token = login(&client, &base, ADMIN, PASSWORD).await;
    let me = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // The SMTP sink greets.
    let mut smtp = std::net::TcpStream::connect(("127.0.0.1", smtp_port)).unwrap();
    smtp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut greeting = [0_u8; 3];
    std::io::Read::read_exact(&mut smtp, &mut greeting).unwrap();
    assert_eq!(&greeting, b"220");
    drop(smtp);

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "run.sh did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = errors.join().unwrap();
    assert!(status.success(), "run.sh exited with {status}:\n{log}");
    // Everything it started has stopped: no port still answers.
    for port in (base_port..=base_port + targets().len() as u16).chain([smtp_port]) {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open after run.sh stopped"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
