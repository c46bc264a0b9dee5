//! Unit tests of [`super`].

use super::*;

fn no_overrides() -> RoleMap {
    RoleMap::new()
}

fn claim(values: &[&str]) -> Roles {
    let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
    Roles::from_claim(&values, &no_overrides())
}

fn overrides(entries: &[(&str, &str)]) -> RoleMap {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

struct Row {
    input: &'static str,
    instructor: bool,
    learner: bool,
    ta: bool,
    admin: bool,
    transient: bool,
    test_user: bool,
}

const fn row(
    input: &'static str,
    instructor: bool,
    learner: bool,
    ta: bool,
    admin: bool,
    transient: bool,
    test_user: bool,
) -> Row {
    Row {
        input,
        instructor,
        learner,
        ta,
        admin,
        transient,
        test_user,
    }
}

const T: bool = true;
const F: bool = false;

#[rustfmt::skip]
const TABLE: &[Row] = &[
    //   input                                                                            instr  learn  ta     admin  trans  test
    // LIS v2 context roles (A.2.3)
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",                    T,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",                       F,     T,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Administrator",                 T,     F,     F,     T,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",              F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor",                        F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Manager",                       F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Member",                        F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Officer",                       F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#TeachingAssistant",             T,     F,     T,     F,     F,     F),
    // LIS v2 context sub-roles (A.2.3.1)
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",  T,     F,     T,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistantSection", T, F,  T,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Grader",             T,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#PrimaryInstructor",  T,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Instructor",            F,     T,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#NonCreditLearner",      F,     T,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Administrator#Support",         T,     F,     F,     T,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#Tutor",                  F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#Janitor",            F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor",                    F,     F,     F,     F,     F,     F),
    // Sakai's double-hash spelling of a sub-role
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor#TeachingAssistant",  T,     F,     T,     F,     F,     F),
    // Institution roles (A.2.2)
    row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",         T,     F,     F,     T,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",               F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",            F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",               F,     F,     F,     F,     F,     F),
    // System roles (A.2.1), including the deprecated path without `system`
    row("http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",              T,     F,     F,     T,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",                   T,     F,     F,     T,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/system/person#AccountAdmin",               F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/system/person#User",                       F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lis/v2/person#Administrator",                     T,     F,     F,     T,     F,     F),
    // LTI TestUser marker (A.2.4)
    row("http://purl.imsglobal.org/vocab/lti/system/person#TestUser",                      F,     F,     F,     F,     F,     T),
    // URIs are case-sensitive
    row("http://purl.imsglobal.org/vocab/lis/v2/membership#instructor",                    F,     F,     F,     F,     F,     F),
    row("http://purl.imsglobal.org/vocab/lti/system/person#testuser",                      F,     F,     F,     F,     F,     F),
    // Short names, any case
    row("Instructor",                                                                      T,     F,     F,     F,     F,     F),
    row("instructor",                                                                      T,     F,     F,     F,     F,     F),
    row("Learner",                                                                         F,     T,     F,     F,     F,     F),
    row("LEARNER",                                                                         F,     T,     F,     F,     F,     F),
    row("TeachingAssistant",                                                               T,     F,     T,     F,     F,     F),
    row("Administrator",                                                                   T,     F,     F,     T,     F,     F),
    row("ContentDeveloper",                                                                F,     F,     F,     F,     F,     F),
    row("Mentor",                                                                          F,     F,     F,     F,     F,     F),
    row("Instructor/TeachingAssistant",                                                    T,     F,     T,     F,     F,     F),
    row("Learner/Instructor",                                                              F,     T,     F,     F,     F,     F),
    // LTI 1.1 URNs
    row("urn:lti:role:ims/lis/Instructor",                                                 T,     F,     F,     F,     F,     F),
    row("urn:lti:role:ims/lis/Learner",                                                    F,     T,     F,     F,     F,     F),
    row("urn:lti:role:ims/lis/TeachingAssistant",                                          T,     F,     T,     F,     F,     F),
    row("urn:lti:role:ims/lis/TeachingAssistant/TeachingAssistantOffering",                T,     F,     T,     F,     F,     F),
    row("urn:lti:role:ims/lis/Instructor/TeachingAssistant",                               T,     F,     T,     F,     F,     F),
    row("urn:lti:role:ims/lis/Instructor/Lecturer",                                        T,     F,     F,     F,     F,     F),
    row("urn:lti:role:ims/lis/Learner/Instructor",                                         F,     T,     F,     F,     F,     F),
    row("urn:lti:role:ims/lis/Administrator",                                              T,     F,     F,     T,     F,     F),
    row("URN:LTI:ROLE:IMS/LIS/instructor",                                                 T,     F,     F,     F,     F,     F),
    row("urn:lti:instrole:ims/lis/Administrator",                                          T,     F,     F,     T,     F,     F),
    row("urn:lti:instrole:ims/lis/Student",                                                F,     F,     F,     F,     F,     F),
    row("urn:lti:instrole:ims/lis/Faculty",                                                F,     F,     F,     F,     F,     F),
    row("urn:lti:sysrole:ims/lis/SysAdmin",                                                T,     F,     F,     T,     F,     F),
    row("urn:lti:sysrole:ims/lis/Administrator",                                           T,     F,     F,     T,     F,     F),
    row("urn:lti:sysrole:ims/lis/SysSupport",                                              F,     F,     F,     F,     F,     F),
    row("urn:lti:role:ims/lti/Transient",                                                  F,     F,     F,     F,     T,     F),
    row("urn:lti:role:ims/lti/transient",                                                  F,     F,     F,     F,     T,     F),
    // Unknown roles
    row("Student",                                                                         F,     F,     F,     F,     F,     F),
    row("Teaching Assistant",                                                              F,     F,     F,     F,     F,     F),
    row("maintain",                                                                        F,     F,     F,     F,     F,     F),
    row("https://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",                   F,     F,     F,     F,     F,     F),
    row("http://example.edu/roles#Instructor",                                             F,     F,     F,     F,     F,     F),
    row("urn:lti:role:ims/lis/Janitor",                                                    F,     F,     F,     F,     F,     F),
    row("urn:lti:instrole:ims/lis/SysAdmin",                                               F,     F,     F,     F,     F,     F),
    row("TestUser",                                                                        F,     F,     F,     F,     F,     F),
    row("",                                                                                F,     F,     F,     F,     F,     F),
];

#[test]
fn roles_table_of_role_strings_matches_expectations() {
    assert!(TABLE.len() >= 40);
    for row in TABLE {
        for roles in [
            claim(&[row.input]),
            Roles::from_lti11(row.input, &no_overrides()),
        ] {
            let got = (
                roles.is_instructor(),
                roles.is_learner(),
                roles.is_teaching_assistant(),
                roles.is_administrator(),
                roles.is_transient(),
                roles.is_test_user(),
            );
            let want = (
                row.instructor,
                row.learner,
                row.ta,
                row.admin,
                row.transient,
                row.test_user,
            );
            assert_eq!(got, want, "role string {:?}", row.input);
        }
    }
}

#[test]
fn parse_role_each_vocabulary_gives_the_exact_role() {
    let cases = [
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper",
            Role::ContentDeveloper,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/ContentDeveloper#Librarian",
            Role::ContentDeveloper,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Officer#Vice-Chair",
            Role::Officer,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Manager#Observer",
            Role::Manager,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Member#Member",
            Role::Member,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#ProspectiveStudent",
            Role::InstitutionProspectiveStudent,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysSupport",
            Role::SystemSysSupport,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/person#Creator",
            Role::SystemCreator,
        ),
        (
            "http://purl.imsglobal.org/vocab/lis/v2/person#Faculty",
            Role::InstitutionFaculty,
        ),
        (
            "urn:lti:instrole:ims/lis/Observer",
            Role::InstitutionObserver,
        ),
        (
            "urn:lti:sysrole:ims/lis/AccountAdmin",
            Role::SystemAccountAdmin,
        ),
        ("  Mentor  ", Role::Mentor),
    ];
    for (input, want) in cases {
        assert_eq!(parse_role(input), Some(want), "role string {input:?}");
    }
}

#[test]
fn parse_role_unknown_string_is_none() {
    assert_eq!(parse_role("Librarian"), None);
    assert_eq!(parse_role("urn:lti:role:ims/lis/"), None);
    assert_eq!(
        parse_role("http://purl.imsglobal.org/vocab/lis/v2/membership#"),
        None
    );
    assert_eq!(parse_role("Instructor/"), None);
    assert_eq!(parse_role("  "), None);
}

#[test]
fn sub_role_learner_instructor_is_not_instructor() {
    let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership/Learner#Instructor"]);
    assert!(!roles.is_instructor());
    assert!(!roles.can_edit_content());
    assert!(roles.is_learner());
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Learner]);
}

#[test]
fn teaching_assistant_sub_role_is_both_ta_and_instructor() {
    let roles = claim(&[
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    ]);
    assert!(roles.is_teaching_assistant());
    assert!(roles.is_instructor());
    assert!(!roles.is_administrator());
    assert_eq!(
        roles.iter().collect::<Vec<_>>(),
        vec![Role::Instructor, Role::TeachingAssistant]
    );
}

#[test]
fn administrator_via_institution_role_is_admin_and_instructor() {
    let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"]);
    assert!(roles.is_administrator());
    assert!(roles.is_instructor());
    assert!(!roles.is_teaching_assistant());
    assert!(!roles.is_learner());
}

#[test]
fn administrator_via_system_role_is_admin_and_instructor() {
    for input in [
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#SysAdmin",
        "urn:lti:sysrole:ims/lis/SysAdmin",
    ] {
        let roles = claim(&[input]);
        assert!(roles.is_administrator(), "{input}");
        assert!(roles.is_instructor(), "{input}");
    }
}

#[test]
fn institution_faculty_without_context_role_is_not_instructor() {
    let roles = claim(&[
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
    ]);
    assert!(!roles.is_instructor());
    assert!(roles.is_learner());
    assert!(roles.contains(Role::InstitutionFaculty));
}

#[test]
fn content_developer_alone_can_edit_content_but_is_not_instructor() {
    let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"]);
    assert!(roles.is_content_developer());
    assert!(roles.can_edit_content());
    assert!(!roles.is_instructor());
    assert!(!roles.is_learner());
}

#[test]
fn can_edit_content_instructor_or_admin_is_true_learner_is_false() {
    assert!(claim(&["Instructor"]).can_edit_content());
    assert!(claim(&["urn:lti:instrole:ims/lis/Administrator"]).can_edit_content());
    assert!(!claim(&["Learner"]).can_edit_content());
    assert!(!claim(&["Mentor"]).can_edit_content());
}

#[test]
fn mentor_sub_role_is_mentor_only() {
    let roles = claim(&["http://purl.imsglobal.org/vocab/lis/v2/membership/Mentor#Advisor"]);
    assert!(roles.is_mentor());
    assert!(!roles.is_learner());
    assert!(!roles.is_instructor());
}

#[test]
fn unknown_roles_are_ignored_and_known_ones_kept() {
    let roles = claim(&[
        "http://example.edu/roles/Dean",
        "Learner",
        "urn:example:whatever",
        "Teaching Assistant",
    ]);
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Learner]);
}

#[test]
fn unknown_roles_only_give_empty_roles() {
    let roles = claim(&["http://example.edu/roles/Dean", "Professor"]);
    assert!(roles.is_empty());
    assert!(!roles.is_instructor());
}

#[test]
fn empty_claim_gives_empty_roles_answering_false() {
    let roles = Roles::from_claim(&[], &no_overrides());
    assert!(roles.is_empty());
    assert!(!roles.is_instructor());
    assert!(!roles.is_learner());
    assert!(!roles.is_administrator());
    assert!(!roles.excluded_from_statistics());
    assert_eq!(roles, Roles::default());
}

#[test]
fn empty_lti11_list_gives_empty_roles() {
    assert!(Roles::from_lti11("", &no_overrides()).is_empty());
    assert!(Roles::from_lti11(" , ,, ", &no_overrides()).is_empty());
}

#[test]
fn lti11_comma_list_with_spaces_reads_every_item() {
    let roles = Roles::from_lti11(
        " Instructor , urn:lti:instrole:ims/lis/Administrator,urn:lti:role:ims/lis/TeachingAssistant ,",
        &no_overrides(),
    );
    assert_eq!(
        roles.iter().collect::<Vec<_>>(),
        vec![
            Role::Instructor,
            Role::TeachingAssistant,
            Role::InstitutionAdministrator
        ]
    );
    assert!(roles.is_instructor());
    assert!(roles.is_administrator());
    assert!(roles.is_teaching_assistant());
}

#[test]
fn lti11_reference_vector_roles_are_instructor_and_ta() {
    // The `roles` value of vector V-10 in lti11-reference.md.
    let roles = Roles::from_lti11(
        "Instructor,urn:lti:role:ims/lis/TeachingAssistant",
        &no_overrides(),
    );
    assert_eq!(
        roles.iter().collect::<Vec<_>>(),
        vec![Role::Instructor, Role::TeachingAssistant]
    );
}

#[test]
fn duplicate_spellings_collapse_to_one_role() {
    let roles = Roles::from_lti11(
        "Instructor,urn:lti:role:ims/lis/Instructor,instructor",
        &no_overrides(),
    );
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
}

#[test]
fn override_rename_replaces_the_platform_role() {
    let map = overrides(&[(
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    )]);
    let values =
        vec!["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor".to_owned()];
    let roles = Roles::from_claim(&values, &map);
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
    assert!(roles.is_instructor());
}

#[test]
fn override_sakai_custom_roles_map_to_lti_roles() {
    let map = overrides(&[
        ("maintain", "Instructor"),
        ("access", "urn:lti:role:ims/lis/Learner"),
        (
            "Teaching Assistant",
            "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
        ),
    ]);
    let maintain = Roles::from_lti11("maintain", &map);
    assert!(maintain.is_instructor());
    let access = Roles::from_lti11("access", &map);
    assert!(access.is_learner());
    assert!(!access.is_instructor());
    let ta = Roles::from_lti11(" Teaching Assistant ", &map);
    assert!(ta.is_teaching_assistant());
    assert!(ta.is_instructor());
}

#[test]
fn override_empty_target_drops_the_role() {
    let map = overrides(&[
        ("Administrator", ""),
        ("urn:lti:role:ims/lti/Transient", "  "),
    ]);
    let roles = Roles::from_lti11(
        "Instructor,Administrator,urn:lti:role:ims/lti/Transient",
        &map,
    );
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
    assert!(!roles.is_administrator());
    assert!(!roles.is_transient());
}

#[test]
fn override_can_demote_a_standard_role() {
    let map = overrides(&[("Instructor", "Learner")]);
    let roles = Roles::from_lti11("Instructor", &map);
    assert!(!roles.is_instructor());
    assert!(roles.is_learner());
}

#[test]
fn override_unknown_target_ignores_the_role() {
    let map = overrides(&[("maintain", "Boss")]);
    assert!(
        Roles::from_lti11("maintain,Learner", &map)
            .iter()
            .eq([Role::Learner])
    );
}

#[test]
fn override_is_applied_once_not_chained() {
    let map = overrides(&[("maintain", "Instructor"), ("Instructor", "")]);
    let roles = Roles::from_lti11("maintain", &map);
    assert_eq!(roles.iter().collect::<Vec<_>>(), vec![Role::Instructor]);
}

#[test]
fn override_key_is_case_sensitive() {
    let map = overrides(&[("maintain", "Instructor")]);
    assert!(Roles::from_lti11("Maintain", &map).is_empty());
}

#[test]
fn parse_override_empty_is_drop_known_is_replace_unknown_is_none() {
    assert_eq!(parse_override(""), Some(RoleOverride::Drop));
    assert_eq!(parse_override("   "), Some(RoleOverride::Drop));
    assert_eq!(
        parse_override("urn:lti:role:ims/lis/Instructor/TeachingAssistant"),
        Some(RoleOverride::Replace(Role::TeachingAssistant))
    );
    assert_eq!(parse_override("Professor"), None);
}

#[test]
fn transient_learner_is_excluded_from_statistics_and_still_learner() {
    let roles = Roles::from_lti11("Learner,urn:lti:role:ims/lti/Transient", &no_overrides());
    assert!(roles.excluded_from_statistics());
    assert!(roles.is_transient());
    assert!(roles.is_learner());
    assert!(!roles.is_test_user());
}

#[test]
fn transient_sysadmin_is_excluded_and_keeps_admin_and_instructor() {
    // The example from the Transient role's announcement: an administrator visiting a
    // course they are not enrolled in.
    let roles = Roles::from_lti11(
        "Instructor,urn:lti:sysrole:ims/lis/SysAdmin,urn:lti:role:ims/lti/Transient",
        &no_overrides(),
    );
    assert!(roles.excluded_from_statistics());
    assert!(roles.is_instructor());
    assert!(roles.is_administrator());
}

#[test]
fn test_user_learner_is_excluded_from_statistics_and_still_learner() {
    let roles = claim(&[
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
        "http://purl.imsglobal.org/vocab/lti/system/person#TestUser",
    ]);
    assert!(roles.excluded_from_statistics());
    assert!(roles.is_test_user());
    assert!(roles.is_learner());
    assert!(!roles.is_transient());
}

#[test]
fn plain_learner_is_not_excluded_from_statistics() {
    assert!(!claim(&["Learner"]).excluded_from_statistics());
}

#[test]
fn role_names_round_trip_through_from_name() {
    for role in Role::ALL {
        assert_eq!(Role::from_name(role.as_str()), Some(role));
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
    }
}

#[test]
fn role_all_is_sorted_and_unique() {
    let set: BTreeSet<Role> = Role::ALL.into_iter().collect();
    assert_eq!(set.len(), Role::ALL.len());
    assert!(set.into_iter().eq(Role::ALL));
}

#[test]
fn role_from_name_unknown_name_is_error() {
    assert_eq!(Role::from_name("instructor"), None);
    assert_eq!(
        "Boss".parse::<Role>(),
        Err(UnknownRoleName("Boss".to_owned()))
    );
}

#[test]
fn role_scope_matches_vocabulary() {
    assert_eq!(Role::TeachingAssistant.scope(), RoleScope::Context);
    assert_eq!(Role::InstitutionFaculty.scope(), RoleScope::Institution);
    assert_eq!(Role::SystemSysAdmin.scope(), RoleScope::System);
    assert_eq!(Role::TestUser.scope(), RoleScope::Marker);
    assert_eq!(Role::Transient.scope(), RoleScope::Marker);
}

#[test]
fn roles_serialize_as_stable_names_and_back() {
    let roles = Roles::from_lti11(
        "Learner,urn:lti:instrole:ims/lis/Faculty,urn:lti:role:ims/lti/Transient",
        &no_overrides(),
    );
    let json = serde_json::to_string(&roles).unwrap();
    assert_eq!(json, r#"["Learner","institution/Faculty","Transient"]"#);
    let back: Roles = serde_json::from_str(&json).unwrap();
    assert_eq!(back, roles);
    assert_eq!(roles.to_string(), "Learner,institution/Faculty,Transient");
}

#[test]
fn roles_deserialize_unknown_name_is_error() {
    let err = serde_json::from_str::<Roles>(r#"["Learner","Boss"]"#);
    assert!(err.is_err());
}
