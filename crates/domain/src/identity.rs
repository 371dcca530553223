//! Identity resolution: which profile an event is about, and which profiles it proves are one.
//!
//! The rule (Segment Unify's default, "userId limit 1"): **a profile holds at most one
//! `userId`**. A known `userId` never joins a profile holding a different one, whatever an
//! anonymous id says: two people on one shared browser stay two people. The anonymous id
//! follows whoever identified last (events logged before stay where they were), and the merge
//! that was not done is reported as a [`Refusal`]. Only `alias` merges deliberately: the
//! profile of its `previousId` joins the profile of its `userId`, whoever holds what.
//!
//! [`resolve`] is pure: the caller looks up where each identity the event names lives, and
//! answers which user ids a profile holds when asked (only on the rare paths that need it).

use crate::event::Kind;
use crate::ids::{Identity, ProfileId};

/// The profile an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Existing(ProfileId),
    /// Nobody the event names is known yet: a new profile.
    New,
}

/// A merge the rule refused: `identity` would have joined the target with `other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The profile that keeps its own `userId` (and the events logged with it so far).
    pub other: ProfileId,
    /// The identity both were named by; it now belongs to the target.
    pub identity: Identity,
    pub reason: String,
}

/// What an event does to identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub target: Target,
    /// Profiles to merge into the target, in order.
    pub merge: Vec<ProfileId>,
    /// Identities to point at the target: new ones, and ones that move from another profile.
    pub attach: Vec<Identity>,
    pub refused: Vec<Refusal>,
}

impl Resolution {
    /// The profile, when applying the resolution writes nothing (the event's identities are
    /// all that profile's already).
    pub fn unchanged(&self) -> Option<ProfileId> {
        match self.target {
            Target::Existing(p) if self.merge.is_empty() && self.attach.is_empty() && self.refused.is_empty() => Some(p),
            _ => None,
        }
    }
}

/// The identities an event names, read from it.
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    pub kind: Kind,
    pub user_id: Option<&'a str>,
    pub anonymous_id: Option<&'a str>,
    /// `alias` only.
    pub previous_id: Option<&'a str>,
}

/// Decides an event's profile. `found` is where each identity the event names lives now
/// (canonical profiles; identities nobody holds are absent); `user_ids(p)` answers which
/// user ids profile `p` holds.
pub fn resolve<E>(
    names: Names<'_>,
    found: &[(Identity, ProfileId)],
    mut user_ids: impl FnMut(ProfileId) -> Result<Vec<String>, E>,
) -> Result<Resolution, E> {
    let at = |i: &Identity| found.iter().find(|(f, _)| f == i).map(|(_, p)| *p);
    let user = names.user_id.map(|u| Identity::UserId(u.to_owned()));
    let anonymous = names.anonymous_id.map(|a| Identity::AnonymousId(a.to_owned()));
    let by_user = user.as_ref().and_then(at);
    let by_anonymous = anonymous.as_ref().and_then(at);
    let mut r = Resolution { target: Target::New, merge: Vec::new(), attach: Vec::new(), refused: Vec::new() };

    // The deliberate part of an alias: the profile(s) of its previousId join the userId's.
    let previous: Vec<ProfileId> = match names.previous_id.filter(|_| names.kind == Kind::Alias) {
        Some(x) => {
            let mut ps: Vec<ProfileId> =
                [Identity::UserId(x.to_owned()), Identity::AnonymousId(x.to_owned())].iter().filter_map(at).collect();
            ps.dedup();
            if ps.is_empty() {
                r.attach.push(Identity::AnonymousId(x.to_owned()));
            }
            ps
        }
        None => Vec::new(),
    };

    r.target = match (by_user, previous.first()) {
        (Some(p), _) => Target::Existing(p),
        (None, Some(p)) => Target::Existing(*p),
        (None, None) => match by_anonymous {
            // A first userId for an anonymous profile; a profile with another userId keeps it.
            Some(p) if user.is_none() || user_ids(p)?.is_empty() => Target::Existing(p),
            _ => Target::New,
        },
    };
    for p in previous {
        if r.target != Target::Existing(p) && !r.merge.contains(&p) {
            r.merge.push(p);
        }
    }
    if let Some(u) = user.filter(|_| by_user.is_none()) {
        r.attach.push(u);
    }

    // The anonymous id: merged in when its profile is anonymous, else it moves here alone.
    if let Some(a) = anonymous {
        match by_anonymous {
            None => r.attach.push(a),
            Some(p) if r.target == Target::Existing(p) || r.merge.contains(&p) => {}
            Some(p) => {
                let theirs = user_ids(p)?;
                if theirs.is_empty() && r.target != Target::New {
                    r.merge.push(p);
                } else {
                    if !theirs.is_empty() {
                        let reason =
                            format!("a profile holds at most one userId: {} already belongs to userId {}", a.value(), theirs.join(", "));
                        r.refused.push(Refusal { other: p, identity: a.clone(), reason });
                    }
                    r.attach.push(a);
                }
            }
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;

    use expect_test::{Expect, expect};

    use super::*;

    /// `profiles`: "1=u:alice,a:dev" — profile 1 holds userId alice and anonymousId dev.
    /// `event`: "identify u:bob a:dev" or "alias u:bob x:old".
    fn check(profiles: &str, event: &str, expect: Expect) {
        let mut found_all: Vec<(Identity, ProfileId)> = Vec::new();
        let mut users: HashMap<ProfileId, Vec<String>> = HashMap::new();
        for p in profiles.split_whitespace() {
            let (id, ids) = p.split_once('=').expect("id=identities");
            let id = ProfileId(id.parse().expect("number"));
            users.entry(id).or_default();
            for i in ids.split(',') {
                match i.split_once(':').expect("kind:value") {
                    ("u", v) => {
                        users.entry(id).or_default().push(v.to_owned());
                        found_all.push((Identity::UserId(v.to_owned()), id));
                    }
                    (_, v) => found_all.push((Identity::AnonymousId(v.to_owned()), id)),
                }
            }
        }
        let mut words = event.split_whitespace();
        let kind = Kind::parse(words.next().expect("kind")).expect("known kind");
        let mut names = Names { kind, user_id: None, anonymous_id: None, previous_id: None };
        for w in words {
            match w.split_once(':').expect("kind:value") {
                ("u", v) => names.user_id = Some(v),
                ("a", v) => names.anonymous_id = Some(v),
                (_, v) => names.previous_id = Some(v),
            }
        }
        // Only what the event names is looked up, as the engine does.
        let named: Vec<Identity> = [
            names.user_id.map(|u| Identity::UserId(u.into())),
            names.anonymous_id.map(|a| Identity::AnonymousId(a.into())),
            names.previous_id.map(|x| Identity::UserId(x.into())),
            names.previous_id.map(|x| Identity::AnonymousId(x.into())),
        ]
        .into_iter()
        .flatten()
        .collect();
        let found: Vec<_> = found_all.into_iter().filter(|(i, _)| named.contains(i)).collect();
        let r = resolve(names, &found, |p| Ok::<_, Infallible>(users.get(&p).cloned().unwrap_or_default())).expect("infallible");
        let mut out = match r.target {
            Target::Existing(p) => format!("profile {p}"),
            Target::New => "new profile".to_owned(),
        };
        for m in &r.merge {
            out += &format!(", merge {m}");
        }
        for a in &r.attach {
            out += &format!(", attach {}:{}", a.kind(), a.value());
        }
        for f in &r.refused {
            out += &format!(", refuse {} ({})", f.other, f.reason);
        }
        if r.unchanged().is_some() {
            out += " (nothing to write)";
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn unknown_people_get_a_new_profile() {
        check("", "track a:dev", expect!["new profile, attach anonymous_id:dev"]);
        check("", "identify u:alice a:dev", expect!["new profile, attach user_id:alice, attach anonymous_id:dev"]);
        check("", "identify u:alice", expect!["new profile, attach user_id:alice"]);
    }

    #[test]
    fn known_people_resolve_without_writes() {
        check("1=u:alice,a:dev", "track u:alice a:dev", expect!["profile 1 (nothing to write)"]);
        check("1=a:dev", "track a:dev", expect!["profile 1 (nothing to write)"]);
        check("1=u:alice", "track u:alice", expect!["profile 1 (nothing to write)"]);
    }

    #[test]
    fn an_anonymous_profile_becomes_known_on_identify() {
        check("1=a:dev", "identify u:alice a:dev", expect!["profile 1, attach user_id:alice"]);
        check("1=a:dev 2=u:alice", "identify u:alice a:dev", expect!["profile 2, merge 1"]);
        check("1=u:alice", "track u:alice a:new-device", expect!["profile 1, attach anonymous_id:new-device"]);
    }

    #[test]
    fn two_known_people_on_one_device_are_never_merged() {
        check(
            "1=u:alice,a:dev",
            "identify u:bob a:dev",
            expect![
                "new profile, attach user_id:bob, attach anonymous_id:dev, refuse 1 (a profile holds at most one userId: dev already belongs to userId alice)"
            ],
        );
        check(
            "1=u:alice,a:dev 2=u:bob",
            "identify u:bob a:dev",
            expect![
                "profile 2, attach anonymous_id:dev, refuse 1 (a profile holds at most one userId: dev already belongs to userId alice)"
            ],
        );
        // Whoever identified last holds the device; an anonymous event goes to them.
        check("1=u:alice 2=u:bob,a:dev", "track a:dev", expect!["profile 2 (nothing to write)"]);
    }

    #[test]
    fn alias_merges_what_it_names_deliberately() {
        check("1=a:old", "alias u:fred x:old", expect!["profile 1, attach user_id:fred"]);
        check("", "alias u:fred x:old", expect!["new profile, attach anonymous_id:old, attach user_id:fred"]);
        check("1=u:fred 2=a:old", "alias u:fred x:old", expect!["profile 1, merge 2"]);
        // Two known users: alias is the one deliberate way to make them one.
        check("1=u:fred 2=u:frederick", "alias u:fred x:frederick", expect!["profile 1, merge 2"]);
        check("2=u:frederick", "alias u:fred x:frederick", expect!["profile 2, attach user_id:fred"]);
        // The anonymous id an alias carries still follows the userId rule.
        check(
            "1=u:fred 2=a:old 3=u:kim,a:dev",
            "alias u:fred x:old a:dev",
            expect![
                "profile 1, merge 2, attach anonymous_id:dev, refuse 3 (a profile holds at most one userId: dev already belongs to userId kim)"
            ],
        );
        check("1=u:fred 2=a:old 3=a:dev", "alias u:fred x:old a:dev", expect!["profile 1, merge 2, merge 3"]);
        check("1=u:fred,a:old", "alias u:fred x:old", expect!["profile 1 (nothing to write)"]);
    }
}
