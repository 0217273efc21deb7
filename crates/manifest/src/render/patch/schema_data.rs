// Placeholder, replaced by the table generated from kustomize's built-in OpenAPI.
static NODES: &[SNode] = &[
    // 0: Deployment
    SNode { props: &[("spec", 1)], additional: None, items: None, is_array: false, strategy: "", keys: &[] },
    // 1: DeploymentSpec
    SNode { props: &[("template", 2)], additional: None, items: None, is_array: false, strategy: "", keys: &[] },
    // 2: PodTemplateSpec
    SNode { props: &[("spec", 3)], additional: None, items: None, is_array: false, strategy: "", keys: &[] },
    // 3: PodSpec
    SNode { props: &[("containers", 4)], additional: None, items: None, is_array: false, strategy: "", keys: &[] },
    // 4: containers
    SNode { props: &[], additional: None, items: Some(5), is_array: true, strategy: "merge", keys: &["name"] },
    // 5: Container
    SNode { props: &[], additional: None, items: None, is_array: false, strategy: "", keys: &[] },
];
static TYPES: &[(&str, &str, u16)] = &[("apps/v1", "Deployment", 0)];
static CLUSTER_SCOPED: &[(&str, &str)] = &[("v1", "Namespace")];
