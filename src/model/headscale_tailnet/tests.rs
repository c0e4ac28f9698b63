//! The JSON below is written from the structs Headscale prints (juanfont/headscale):
//! `gen/go/headscale/v1/node.pb.go` and `user.pb.go` (releases, snake_case, `omitempty`),
//! `proto/headscale/v1/node.proto` at v0.27.0 (`forced_tags`, `invalid_tags`, `valid_tags`)
//! and at v0.28.0 (`tags`), `proto/headscale/v1/user.proto` at v0.23.0 (a string `id`), and
//! `gen/client/v1/client.gen.go` on the development branch (lowerCamelCase, string ids,
//! `null` lists).

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// `headscale users list -o json`, v0.29 (`User` in `user.pb.go`).
const USERS_V029: &str = r#"[
	{"id": 1, "name": "alice", "created_at": {"seconds": 1700000000}, "display_name": "Alice",
	 "email": "alice@example.com", "provider_id": "https://idp.example.com/u/1", "provider": "oidc"},
	{"id": 2, "name": "bob", "created_at": {"seconds": 1700000001}},
	{"id": 3, "name": "carol", "email": "carol@example.com"}
]"#;

/// `headscale nodes list -o json`, v0.29 (`Node` in `node.pb.go`): `tags`, routes.
const NODES_V029: &str = r#"[
	{"id": 1, "machine_key": "mkey:01", "node_key": "nodekey:01", "disco_key": "discokey:01",
	 "ip_addresses": ["100.64.0.1", "fd7a:115c:a1e0::1"], "name": "alice-laptop",
	 "user": {"id": 1, "name": "alice", "email": "alice@example.com"},
	 "last_seen": {"seconds": 1700000100}, "created_at": {"seconds": 1700000000},
	 "register_method": 3, "given_name": "laptop", "online": true},
	{"id": 2, "ip_addresses": ["100.64.0.2", "fd7a:115c:a1e0::2"], "name": "router",
	 "user": {"id": 2, "name": "bob"}, "given_name": "router",
	 "approved_routes": ["10.0.0.0/24", "0.0.0.0/0"],
	 "available_routes": ["10.0.0.0/24", "10.1.0.0/24", "0.0.0.0/0", "::/0"],
	 "subnet_routes": ["10.0.0.0/24"], "tags": ["tag:router"]},
	{"id": 3, "ip_addresses": ["100.64.0.3"], "name": "bob-phone",
	 "user": {"id": 2, "name": "bob"}, "given_name": "phone"}
]"#;

#[test]
fn reads_the_two_lists_of_a_release() {
    let t = Tailnet::from_headscale(USERS_V029, NODES_V029).unwrap();
    let names: Vec<_> = t.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    // The login name is the e-mail, else the user name (`User.Username`).
    assert_eq!(t.users[0].email, "alice@example.com");
    assert_eq!(t.users[1].email, "bob");
    let nodes: Vec<_> = t.nodes.keys().map(String::as_str).collect();
    assert_eq!(nodes, ["laptop", "phone", "router"]);

    let laptop = &t.nodes["laptop"];
    assert_eq!(laptop.hostname, "alice-laptop");
    assert_eq!(laptop.ipv4, Some(Ipv4Addr::new(100, 64, 0, 1)));
    assert_eq!(
        laptop.ipv6,
        Some("fd7a:115c:a1e0::1".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(laptop.disco_key.as_deref(), Some("discokey:01"));
    assert_eq!(t.owner_email(laptop), Some("alice@example.com"));
    assert_eq!(t.owner_email(&t.nodes["phone"]), Some("bob"));
    assert_eq!(t.nodes["phone"].ipv6, None);

    let router = &t.nodes["router"];
    assert_eq!(router.tags, ["tag:router"]);
    assert_eq!(router.user, None, "a tagged node has no user identity");
    assert_eq!(t.owner_email(router), None);
    // Served: announced and approved; 10.1.0.0/24 is announced only.
    let approved: Vec<String> = router
        .approved_routes
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(approved, ["10.0.0.0/24", "0.0.0.0/0"]);
    assert_eq!(router.routable_ips.len(), 4);
}

#[test]
fn an_approved_route_the_node_does_not_announce_is_not_served() {
    let t = Tailnet::from_headscale(
        "[]",
        r#"[{"name": "r", "ip_addresses": ["100.64.0.9"], "approved_routes": ["10.9.0.0/16"]}]"#,
    )
    .unwrap();
    assert!(t.nodes["r"].approved_routes.is_empty());
}

#[test]
fn tags_up_to_v027_are_forced_and_valid_not_invalid() {
    // `proto/headscale/v1/node.proto` at v0.27.0: fields 18, 19, 20.
    let t = Tailnet::from_headscale(
        "[]",
        r#"[{"id": 4, "name": "srv", "ip_addresses": ["100.64.0.4"],
             "user": {"id": 1, "name": "alice"},
             "forced_tags": ["tag:server"], "invalid_tags": ["tag:admin"],
             "valid_tags": ["tag:server", "tag:web"]},
            {"id": 5, "name": "desk", "ip_addresses": ["100.64.0.5"],
             "user": {"id": 1, "name": "alice"}, "invalid_tags": ["tag:admin"]}]"#,
    )
    .unwrap();
    assert_eq!(t.nodes["srv"].tags, ["tag:server", "tag:web"]);
    assert_eq!(t.nodes["srv"].user, None);
    // Only refused tags: the node stays its owner's.
    assert!(t.nodes["desk"].tags.is_empty());
    assert_eq!(t.nodes["desk"].user.as_deref(), Some("alice"));
    // The owner comes with the node when the user list is empty.
    assert_eq!(t.users.len(), 1);
}

#[test]
fn reads_the_development_branch_camel_case_with_string_ids_and_nulls() {
    // `gen/client/v1/client.gen.go`: `Node`, `User`.
    let users = r#"[{"createdAt": "2026-01-01T00:00:00Z", "displayName": "", "email": "",
        "id": "7", "name": "", "profilePicUrl": "", "provider": "oidc",
        "providerId": "https://idp.example.com/u/7"}]"#;
    let nodes = r#"[{"approvedRoutes": ["192.168.1.0/24"], "availableRoutes": ["192.168.1.0/24"],
        "createdAt": "2026-01-01T00:00:00Z", "discoKey": "", "expiry": null, "givenName": "nas",
        "id": "12", "ipAddresses": ["fd7a:115c:a1e0::c", "100.64.0.12"], "lastSeen": null,
        "machineKey": "mkey:0c", "name": "nas-host", "nodeKey": "nodekey:0c", "online": false,
        "preAuthKey": {}, "registerMethod": "REGISTER_METHOD_OIDC", "subnetRoutes": null,
        "tags": null,
        "user": {"createdAt": "2026-01-01T00:00:00Z", "displayName": "", "email": "", "id": "7",
                 "name": "", "profilePicUrl": "", "provider": "oidc",
                 "providerId": "https://idp.example.com/u/7"}}]"#;
    let t = Tailnet::from_headscale(users, nodes).unwrap();
    assert_eq!(t.users.len(), 1);
    assert_eq!(t.users[0].id, 7);
    assert_eq!(t.users[0].email, "https://idp.example.com/u/7");
    let nas = &t.nodes["nas"];
    assert_eq!(nas.ipv4, Some(Ipv4Addr::new(100, 64, 0, 12)));
    assert!(nas.ipv6.is_some());
    assert!(nas.tags.is_empty());
    assert_eq!(nas.disco_key, None);
    assert_eq!(nas.approved_routes.len(), 1);
    assert_eq!(t.owner_email(nas), Some("https://idp.example.com/u/7"));
}

#[test]
fn a_user_id_is_a_string_up_to_v023() {
    // `proto/headscale/v1/user.proto` at v0.23.0: `string id = 1`.
    let t = Tailnet::from_headscale(r#"[{"id": "3", "name": "dave"}]"#, "[]").unwrap();
    assert_eq!(t.users[0].id, 3);
    assert_eq!(t.users[0].email, "dave");
}

#[test]
fn the_tailnet_file_takes_the_node_list_or_both_lists() {
    let alone = Tailnet::from_text(NODES_V029).unwrap();
    assert_eq!(alone.nodes.len(), 3);
    assert_eq!(alone.users.len(), 2, "carol owns no node");
    let both = Tailnet::from_text(&format!(
        "{{\"users\": {USERS_V029}, \"nodes\": {NODES_V029}}}"
    ))
    .unwrap();
    assert_eq!(
        both,
        Tailnet::from_headscale(USERS_V029, NODES_V029).unwrap()
    );
    let e = Tailnet::from_text(r#"{"nodes": [], "routes": []}"#).unwrap_err();
    assert!(e.message.contains("unknown key `routes`"), "{}", e.message);
}

#[test]
fn two_nodes_with_one_name_are_both_kept() {
    let t = Tailnet::from_headscale(
        "[]",
        r#"[{"name": "pi", "ip_addresses": ["100.64.0.1"]}, {"name": "pi", "ip_addresses": ["100.64.0.2"]}]"#,
    )
    .unwrap();
    let names: Vec<_> = t.nodes.keys().map(String::as_str).collect();
    assert_eq!(names, ["pi", "pi-2"]);
}

#[test]
fn bad_input_names_the_field_and_the_fix() {
    let cases = [
        (
            r#"[{"name": "a", "ip_addresses": ["100.64.0.300"]}]"#,
            "`[0].ip_addresses[0]`",
        ),
        (
            r#"[{"name": "a", "approved_routes": ["10.0.0.0/33"]}]"#,
            "`[0].approved_routes[0]`",
        ),
        (r#"[{"name": "a", "tags": "tag:x"}]"#, "`[0].tags`"),
        (
            r#"[{"name": "a", "user": {"id": "seven"}}]"#,
            "`[0].user.id`",
        ),
        (
            r#"[{"ip_addresses": ["100.64.0.1"]}]"#,
            "neither `name` nor `given_name`",
        ),
        (r#"{"nodes": "x"}"#, "expected a sequence"),
    ];
    for (nodes, want) in cases {
        let e = Tailnet::from_headscale("[]", nodes).unwrap_err();
        assert!(e.message.contains(want), "{nodes}: {}", e.message);
        assert!(
            e.message.contains("headscale nodes list -o json"),
            "{}",
            e.message
        );
    }
    let e = Tailnet::from_headscale(r#"{"id": 1}"#, "[]").unwrap_err();
    assert!(e.message.contains("headscale users list"), "{}", e.message);
    let e = Tailnet::from_headscale("[", "[]").unwrap_err();
    assert!(
        e.message.starts_with("Headscale users list:"),
        "{}",
        e.message
    );
}

#[test]
fn many_nodes_of_one_name_and_owner_are_read() {
    let node = r#"{"name": "pi", "user": {"id": 1, "name": "alice"}}"#;
    let nodes = format!("[{}]", vec![node; 5000].join(","));
    let t = Tailnet::from_headscale("[]", &nodes).unwrap();
    assert_eq!(t.nodes.len(), 5000);
    assert!(t.nodes.contains_key("pi-5000"));
    assert_eq!(t.users.len(), 1);
}

proptest::proptest! {
    /// A Headscale listing cut and spliced anywhere (a truncated file, a field of the wrong
    /// type, garbage in a list) is read or refused with a message that says what is wrong:
    /// never a panic.
    #[test]
    fn a_damaged_listing_is_read_or_refused_never_a_panic(
        cut in 0usize..NODES_V029.len(),
        len in 0usize..40,
        splice in "[\\[\\]{}\",:0-9a-z. @/-]{0,12}",
    ) {
        let mut text = String::from(NODES_V029);
        let start = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
        text.replace_range(start..end, &splice);
        let both = format!("{{\"users\": {USERS_V029}, \"nodes\": {text}}}");
        for input in [text.as_str(), both.as_str()] {
            if let Err(e) = Tailnet::from_text(input) {
                proptest::prop_assert!(!e.message.is_empty(), "{input}");
            }
        }
    }
}

/// Users as Headscale lists them, read onto the model.
fn users(list: &str) -> Tailnet {
    Tailnet::from_headscale(list, "[]").unwrap()
}

#[test]
fn a_user_token_resolves_by_provider_id_then_email_or_name() {
    let t = users(
        r#"[{"id": 1, "name": "alice", "email": "alice@example.com"},
            {"id": 2, "name": "bob"},
            {"id": 3, "name": "dup"}, {"id": 4, "name": "dup"},
            {"id": 5, "name": "carol", "email": "carol@example.com", "provider_id": "dup"},
            {"id": 6, "name": "erin", "providerId": "https://idp.example/erin"}]"#,
    );
    let table: &[(&str, Result<u64, &str>)] = &[
        // E-mail, and a name with the `@` Headscale requires of it.
        ("alice@example.com", Ok(1)),
        ("alice@", Ok(1)),
        ("bob@", Ok(2)),
        // The provider identifier wins over two users of that name.
        ("dup@", Ok(5)),
        ("https://idp.example/erin@", Ok(6)),
        ("erin@", Ok(6)),
        (
            "ghost@example.com",
            Err(r#"user not found: token "ghost@example.com""#),
        ),
    ];
    for (token, want) in table {
        let got = t
            .headscale_user(token)
            .map(|u| u.id)
            .map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_string), "{token}");
    }
    let two = users(
        r#"[{"id": 2, "name": "yala"}, {"id": 7, "name": "yala", "email": "yala@yala.yala"}]"#,
    );
    assert_eq!(
        two.headscale_user("yala@").unwrap_err().to_string(),
        r#"multiple users found: token "yala@" found: [ 2: yala, 7: yala,  ]"#
    );
    assert_eq!(two.headscale_user("yala@yala.yala").unwrap().id, 7);
}

proptest::proptest! {
    /// Whatever the users, a token names the user whose provider identifier it is when there
    /// is one; else the single user of that e-mail or name; two or more of them are
    /// ambiguous, none is not found.
    #[test]
    fn user_resolution_follows_headscales_order(
        list in proptest::collection::vec((0u8..3, 0u8..3, proptest::option::of(0u8..3)), 0..6),
        wanted in 0u8..3,
    ) {
        let json: Vec<serde_json::Value> = list
            .iter()
            .enumerate()
            .map(|(i, (name, email, provider))| {
                let mut u = serde_json::json!({"id": i + 1, "name": format!("u{name}"),
                                               "email": format!("u{email}@example.com")});
                if let Some(p) = provider {
                    u["provider_id"] = format!("u{p}").into();
                }
                u
            })
            .collect();
        let t = users(&serde_json::Value::from(json).to_string());
        let token = format!("u{wanted}@");
        let by_provider = t.users.iter().find(|u| u.provider_id.as_deref() == Some(&token[..2]));
        let by_name: Vec<u64> = t.users.iter().filter(|u| u.name == token[..2]).map(|u| u.id).collect();
        match (t.headscale_user(&token), by_provider) {
            (Ok(u), Some(p)) => proptest::prop_assert_eq!(u.id, p.id),
            (Ok(u), None) => proptest::prop_assert_eq!(vec![u.id], by_name),
            (Err(e), None) => {
                let s = e.to_string();
                if by_name.is_empty() {
                    proptest::prop_assert!(s.starts_with("user not found"), "{}", s);
                } else {
                    proptest::prop_assert!(by_name.len() > 1 && s.starts_with("multiple users found"), "{}", s);
                }
            }
            (Err(e), Some(_)) => proptest::prop_assert!(false, "{}", e),
        }
    }
}
