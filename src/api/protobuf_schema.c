/*
 * protobuf_schema.c - message descriptors for the kinds Wharf serves, for
 * the protobuf decoder in protobuf.c.
 *
 * Field numbers and wire types follow the Kubernetes API's generated.proto
 * files (k8s.io/api core/v1, batch/v1, coordination/v1 and apimachinery
 * meta/v1, up to Kubernetes 1.35); JSON names are the Go types' json tags.
 * A message lists every field a client of those versions may send: gogo's
 * marshallers write all non-pointer fields, so a missing one here would
 * turn a plain `kubectl create` into a 400. WF_PB_KEEP marks Go pointer
 * fields (and zero values that mean something), whose explicit 0 / false
 * must survive. Every field of the served kinds is described, including
 * the subtrees Wharf does not act on (in-tree volume plugins, ephemeral
 * volumes, fields behind alpha feature gates): the same tables decide
 * which JSON fields are unknown for fieldValidation (field_validation.c),
 * where a missing entry would reject a legitimate manifest.
 *
 * Descriptors are defined leaves first; the kinds are listed at the end.
 */
#include "api/protobuf.h"

#include <string.h>

#define WF__N(a) (sizeof(a) / sizeof((a)[0]))
#define WF__MSG(id, ...)                                                                           \
	static const wf_pb_field wf__f_##id[] = {__VA_ARGS__};                                     \
	static const wf_pb_msg wf__m_##id = {#id, wf__f_##id, WF__N(wf__f_##id)}

#define WF__F(n, j, t, fl, sub)                                                                    \
	{                                                                                          \
		(n), (t), (fl), (j), (sub)                                                         \
	}
#define WF__STR(n, j) WF__F(n, j, WF_PB_STRING, 0, NULL)
#define WF__STRS(n, j) WF__F(n, j, WF_PB_STRING, WF_PB_REP, NULL)
#define WF__BOOL(n, j) WF__F(n, j, WF_PB_BOOL, 0, NULL)
#define WF__BOOLP(n, j) WF__F(n, j, WF_PB_BOOL, WF_PB_KEEP, NULL)
#define WF__I32(n, j) WF__F(n, j, WF_PB_INT32, 0, NULL)
#define WF__I32P(n, j) WF__F(n, j, WF_PB_INT32, WF_PB_KEEP, NULL)
#define WF__I32S(n, j) WF__F(n, j, WF_PB_INT32, WF_PB_REP, NULL)
#define WF__I64(n, j) WF__F(n, j, WF_PB_INT64, 0, NULL)
#define WF__I64P(n, j) WF__F(n, j, WF_PB_INT64, WF_PB_KEEP, NULL)
#define WF__I64S(n, j) WF__F(n, j, WF_PB_INT64, WF_PB_REP, NULL)
#define WF__TIME(n, j) WF__F(n, j, WF_PB_TIME, 0, NULL)
#define WF__MTIME(n, j) WF__F(n, j, WF_PB_MICROTIME, 0, NULL)
#define WF__QTY(n, j) WF__F(n, j, WF_PB_QUANTITY, 0, NULL)
#define WF__QTYP(n, j) WF__F(n, j, WF_PB_QUANTITY, WF_PB_KEEP, NULL)
#define WF__IOS(n, j) WF__F(n, j, WF_PB_INTORSTR, 0, NULL)
#define WF__RAWJSON(n, j) WF__F(n, j, WF_PB_RAWJSON, 0, NULL)
#define WF__OBJ(n, j, id) WF__F(n, j, WF_PB_MSG, 0, &wf__m_##id)
#define WF__OBJS(n, j, id) WF__F(n, j, WF_PB_MSG, WF_PB_REP, &wf__m_##id)
#define WF__INLINE(n, j, id) WF__F(n, j, WF_PB_MSG, WF_PB_INLINE, &wf__m_##id)
#define WF__MAPSTR(n, j) WF__F(n, j, WF_PB_STRING, WF_PB_MAP, NULL)
#define WF__MAPBYTES(n, j) WF__F(n, j, WF_PB_BYTES, WF_PB_MAP, NULL)
#define WF__MAPQTY(n, j) WF__F(n, j, WF_PB_QUANTITY, WF_PB_MAP, NULL)

/* ---- meta.k8s.io/v1 -------------------------------------------------------------- */

WF__MSG(OwnerReference, WF__STR(5, "apiVersion"), WF__STR(1, "kind"), WF__STR(3, "name"),
	WF__STR(4, "uid"), WF__BOOLP(6, "controller"), WF__BOOLP(7, "blockOwnerDeletion"));

WF__MSG(ManagedFieldsEntry, WF__STR(1, "manager"), WF__STR(2, "operation"),
	WF__STR(3, "apiVersion"), WF__TIME(4, "time"), WF__STR(6, "fieldsType"),
	WF__RAWJSON(7, "fieldsV1"), WF__STR(8, "subresource"));

WF__MSG(ObjectMeta, WF__STR(1, "name"), WF__STR(2, "generateName"), WF__STR(3, "namespace"),
	WF__STR(4, "selfLink"), WF__STR(5, "uid"), WF__STR(6, "resourceVersion"),
	WF__I64(7, "generation"), WF__TIME(8, "creationTimestamp"),
	WF__TIME(9, "deletionTimestamp"), WF__I64P(10, "deletionGracePeriodSeconds"),
	WF__MAPSTR(11, "labels"), WF__MAPSTR(12, "annotations"),
	WF__OBJS(13, "ownerReferences", OwnerReference), WF__STRS(14, "finalizers"),
	WF__OBJS(17, "managedFields", ManagedFieldsEntry));

WF__MSG(LabelSelectorRequirement, WF__STR(1, "key"), WF__STR(2, "operator"), WF__STRS(3, "values"));

WF__MSG(LabelSelector, WF__MAPSTR(1, "matchLabels"),
	WF__OBJS(2, "matchExpressions", LabelSelectorRequirement));

WF__MSG(Condition, WF__STR(1, "type"), WF__STR(2, "status"), WF__I64(3, "observedGeneration"),
	WF__TIME(4, "lastTransitionTime"), WF__STR(5, "reason"), WF__STR(6, "message"));

WF__MSG(Preconditions, WF__STR(1, "uid"), WF__STR(2, "resourceVersion"));

WF__MSG(DeleteOptions, WF__I64P(1, "gracePeriodSeconds"),
	WF__OBJ(2, "preconditions", Preconditions), WF__BOOLP(3, "orphanDependents"),
	WF__STR(4, "propagationPolicy"), WF__STRS(5, "dryRun"),
	WF__BOOLP(6, "ignoreStoreReadErrorWithClusterBreakingPotential"));

/* ---- core/v1: references, namespaces, config ------------------------------------- */

WF__MSG(ObjectReference, WF__STR(1, "kind"), WF__STR(2, "namespace"), WF__STR(3, "name"),
	WF__STR(4, "uid"), WF__STR(5, "apiVersion"), WF__STR(6, "resourceVersion"),
	WF__STR(7, "fieldPath"));

WF__MSG(LocalObjectReference, WF__STR(1, "name"));

WF__MSG(NamespaceSpec, WF__STRS(1, "finalizers"));

WF__MSG(NamespaceCondition, WF__STR(1, "type"), WF__STR(2, "status"),
	WF__TIME(4, "lastTransitionTime"), WF__STR(5, "reason"), WF__STR(6, "message"));

WF__MSG(NamespaceStatus, WF__STR(1, "phase"), WF__OBJS(2, "conditions", NamespaceCondition));

WF__MSG(Namespace, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", NamespaceSpec),
	WF__OBJ(3, "status", NamespaceStatus));

WF__MSG(ConfigMap, WF__OBJ(1, "metadata", ObjectMeta), WF__BOOLP(4, "immutable"),
	WF__MAPSTR(2, "data"), WF__MAPBYTES(3, "binaryData"));

WF__MSG(Secret, WF__OBJ(1, "metadata", ObjectMeta), WF__BOOLP(5, "immutable"),
	WF__MAPBYTES(2, "data"), WF__MAPSTR(4, "stringData"), WF__STR(3, "type"));

WF__MSG(ServiceAccount, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJS(2, "secrets", ObjectReference),
	WF__OBJS(3, "imagePullSecrets", LocalObjectReference),
	WF__BOOLP(4, "automountServiceAccountToken"));

WF__MSG(Binding, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "target", ObjectReference));

/* ---- core/v1: services ----------------------------------------------------------- */

WF__MSG(ServicePort, WF__STR(1, "name"), WF__STR(2, "protocol"), WF__STR(6, "appProtocol"),
	WF__I32(3, "port"), WF__IOS(4, "targetPort"), WF__I32(5, "nodePort"));

WF__MSG(ClientIPConfig, WF__I32P(1, "timeoutSeconds"));

WF__MSG(SessionAffinityConfig, WF__OBJ(1, "clientIP", ClientIPConfig));

WF__MSG(ServiceSpec, WF__OBJS(1, "ports", ServicePort), WF__MAPSTR(2, "selector"),
	WF__STR(3, "clusterIP"), WF__STRS(18, "clusterIPs"), WF__STR(4, "type"),
	WF__STRS(5, "externalIPs"), WF__STR(7, "sessionAffinity"), WF__STR(8, "loadBalancerIP"),
	WF__STRS(9, "loadBalancerSourceRanges"), WF__STR(10, "externalName"),
	WF__STR(11, "externalTrafficPolicy"), WF__I32(12, "healthCheckNodePort"),
	WF__BOOL(13, "publishNotReadyAddresses"),
	WF__OBJ(14, "sessionAffinityConfig", SessionAffinityConfig), WF__STRS(19, "ipFamilies"),
	WF__STR(17, "ipFamilyPolicy"), WF__BOOLP(20, "allocateLoadBalancerNodePorts"),
	WF__STR(21, "loadBalancerClass"), WF__STR(22, "internalTrafficPolicy"),
	WF__STR(23, "trafficDistribution"));

WF__MSG(PortStatus, WF__I32P(1, "port"), WF__STR(2, "protocol"), WF__STR(3, "error"));

WF__MSG(LoadBalancerIngress, WF__STR(1, "ip"), WF__STR(2, "hostname"), WF__STR(3, "ipMode"),
	WF__OBJS(4, "ports", PortStatus));

WF__MSG(LoadBalancerStatus, WF__OBJS(1, "ingress", LoadBalancerIngress));

WF__MSG(ServiceStatus, WF__OBJ(1, "loadBalancer", LoadBalancerStatus),
	WF__OBJS(2, "conditions", Condition));

WF__MSG(Service, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", ServiceSpec),
	WF__OBJ(3, "status", ServiceStatus));

/* ---- core/v1: containers --------------------------------------------------------- */

WF__MSG(ContainerPort, WF__STR(1, "name"), WF__I32(2, "hostPort"), WF__I32(3, "containerPort"),
	WF__STR(4, "protocol"), WF__STR(5, "hostIP"));

WF__MSG(ObjectFieldSelector, WF__STR(1, "apiVersion"), WF__STR(2, "fieldPath"));

WF__MSG(ResourceFieldSelector, WF__STR(1, "containerName"), WF__STR(2, "resource"),
	WF__QTY(3, "divisor"));

WF__MSG(ConfigMapKeySelector, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__STR(2, "key"), WF__BOOLP(3, "optional"));

WF__MSG(SecretKeySelector, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__STR(2, "key"), WF__BOOLP(3, "optional"));

WF__MSG(FileKeySelector, WF__STR(1, "volumeName"), WF__STR(2, "path"), WF__STR(3, "key"),
	WF__BOOLP(4, "optional"));

WF__MSG(EnvVarSource, WF__OBJ(1, "fieldRef", ObjectFieldSelector),
	WF__OBJ(2, "resourceFieldRef", ResourceFieldSelector),
	WF__OBJ(3, "configMapKeyRef", ConfigMapKeySelector),
	WF__OBJ(4, "secretKeyRef", SecretKeySelector), WF__OBJ(5, "fileKeyRef", FileKeySelector));

WF__MSG(EnvVar, WF__STR(1, "name"), WF__STR(2, "value"), WF__OBJ(3, "valueFrom", EnvVarSource));

WF__MSG(ConfigMapEnvSource, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__BOOLP(2, "optional"));

WF__MSG(SecretEnvSource, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__BOOLP(2, "optional"));

WF__MSG(EnvFromSource, WF__STR(1, "prefix"), WF__OBJ(2, "configMapRef", ConfigMapEnvSource),
	WF__OBJ(3, "secretRef", SecretEnvSource));

WF__MSG(ResourceClaim, WF__STR(1, "name"), WF__STR(2, "request"));

WF__MSG(ResourceRequirements, WF__MAPQTY(1, "limits"), WF__MAPQTY(2, "requests"),
	WF__OBJS(3, "claims", ResourceClaim));

WF__MSG(ContainerResizePolicy, WF__STR(1, "resourceName"), WF__STR(2, "restartPolicy"));

WF__MSG(ContainerRestartRuleOnExitCodes, WF__STR(1, "operator"), WF__I32S(2, "values"));

WF__MSG(ContainerRestartRule, WF__STR(1, "action"),
	WF__OBJ(2, "exitCodes", ContainerRestartRuleOnExitCodes));

WF__MSG(VolumeMount, WF__STR(1, "name"), WF__BOOL(2, "readOnly"), WF__STR(7, "recursiveReadOnly"),
	WF__STR(3, "mountPath"), WF__STR(4, "subPath"), WF__STR(5, "mountPropagation"),
	WF__STR(6, "subPathExpr"));

WF__MSG(VolumeDevice, WF__STR(1, "name"), WF__STR(2, "devicePath"));

WF__MSG(ExecAction, WF__STRS(1, "command"));

WF__MSG(HTTPHeader, WF__STR(1, "name"), WF__STR(2, "value"));

WF__MSG(HTTPGetAction, WF__STR(1, "path"), WF__IOS(2, "port"), WF__STR(3, "host"),
	WF__STR(4, "scheme"), WF__OBJS(5, "httpHeaders", HTTPHeader));

WF__MSG(TCPSocketAction, WF__IOS(1, "port"), WF__STR(2, "host"));

WF__MSG(GRPCAction, WF__I32P(1, "port"), WF__STR(2, "service"));

WF__MSG(ProbeHandler, WF__OBJ(1, "exec", ExecAction), WF__OBJ(2, "httpGet", HTTPGetAction),
	WF__OBJ(3, "tcpSocket", TCPSocketAction), WF__OBJ(4, "grpc", GRPCAction));

WF__MSG(Probe, WF__INLINE(1, "handler", ProbeHandler), WF__I32(2, "initialDelaySeconds"),
	WF__I32(3, "timeoutSeconds"), WF__I32(4, "periodSeconds"), WF__I32(5, "successThreshold"),
	WF__I32(6, "failureThreshold"), WF__I64P(7, "terminationGracePeriodSeconds"));

WF__MSG(SleepAction, WF__I64P(1, "seconds"));

WF__MSG(LifecycleHandler, WF__OBJ(1, "exec", ExecAction), WF__OBJ(2, "httpGet", HTTPGetAction),
	WF__OBJ(3, "tcpSocket", TCPSocketAction), WF__OBJ(4, "sleep", SleepAction));

WF__MSG(Lifecycle, WF__OBJ(1, "postStart", LifecycleHandler),
	WF__OBJ(2, "preStop", LifecycleHandler), WF__STR(3, "stopSignal"));

WF__MSG(Capabilities, WF__STRS(1, "add"), WF__STRS(2, "drop"));

WF__MSG(SELinuxOptions, WF__STR(1, "user"), WF__STR(2, "role"), WF__STR(3, "type"),
	WF__STR(4, "level"));

WF__MSG(WindowsSecurityContextOptions, WF__STR(1, "gmsaCredentialSpecName"),
	WF__STR(2, "gmsaCredentialSpec"), WF__STR(3, "runAsUserName"), WF__BOOLP(4, "hostProcess"));

WF__MSG(SeccompProfile, WF__STR(1, "type"), WF__STR(2, "localhostProfile"));

WF__MSG(AppArmorProfile, WF__STR(1, "type"), WF__STR(2, "localhostProfile"));

WF__MSG(Ulimit, WF__STR(1, "name"), WF__I64(2, "hard"), WF__I64(3, "soft"));

WF__MSG(SecurityContext, WF__OBJ(1, "capabilities", Capabilities), WF__BOOLP(2, "privileged"),
	WF__OBJ(3, "seLinuxOptions", SELinuxOptions),
	WF__OBJ(10, "windowsOptions", WindowsSecurityContextOptions), WF__I64P(4, "runAsUser"),
	WF__I64P(8, "runAsGroup"), WF__BOOLP(5, "runAsNonRoot"),
	WF__BOOLP(6, "readOnlyRootFilesystem"), WF__BOOLP(7, "allowPrivilegeEscalation"),
	WF__STR(9, "procMount"), WF__OBJ(11, "seccompProfile", SeccompProfile),
	WF__OBJ(12, "appArmorProfile", AppArmorProfile), WF__OBJS(13, "ulimits", Ulimit));

WF__MSG(Container, WF__STR(1, "name"), WF__STR(2, "image"), WF__STRS(3, "command"),
	WF__STRS(4, "args"), WF__STR(5, "workingDir"), WF__OBJS(6, "ports", ContainerPort),
	WF__OBJS(19, "envFrom", EnvFromSource), WF__OBJS(7, "env", EnvVar),
	WF__OBJ(8, "resources", ResourceRequirements),
	WF__OBJS(23, "resizePolicy", ContainerResizePolicy), WF__STR(24, "restartPolicy"),
	WF__OBJS(25, "restartPolicyRules", ContainerRestartRule),
	WF__OBJS(9, "volumeMounts", VolumeMount), WF__OBJS(21, "volumeDevices", VolumeDevice),
	WF__OBJ(10, "livenessProbe", Probe), WF__OBJ(11, "readinessProbe", Probe),
	WF__OBJ(22, "startupProbe", Probe), WF__OBJ(12, "lifecycle", Lifecycle),
	WF__STR(13, "terminationMessagePath"), WF__STR(20, "terminationMessagePolicy"),
	WF__STR(14, "imagePullPolicy"), WF__OBJ(15, "securityContext", SecurityContext),
	WF__BOOL(16, "stdin"), WF__BOOL(17, "stdinOnce"), WF__BOOL(18, "tty"));

/* EphemeralContainerCommon has Container's fields and numbers. */
WF__MSG(EphemeralContainer, WF__INLINE(1, "ephemeralContainerCommon", Container),
	WF__STR(2, "targetContainerName"));

/* ---- core/v1: volumes ------------------------------------------------------------ */

WF__MSG(KeyToPath, WF__STR(1, "key"), WF__STR(2, "path"), WF__I32P(3, "mode"));

WF__MSG(HostPathVolumeSource, WF__STR(1, "path"), WF__STR(2, "type"));

WF__MSG(EmptyDirVolumeSource, WF__STR(1, "medium"), WF__QTYP(2, "sizeLimit"));

WF__MSG(SecretVolumeSource, WF__STR(1, "secretName"), WF__OBJS(2, "items", KeyToPath),
	WF__I32P(3, "defaultMode"), WF__BOOLP(4, "optional"));

WF__MSG(ConfigMapVolumeSource, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__OBJS(2, "items", KeyToPath), WF__I32P(3, "defaultMode"), WF__BOOLP(4, "optional"));

WF__MSG(NFSVolumeSource, WF__STR(1, "server"), WF__STR(2, "path"), WF__BOOL(3, "readOnly"));

WF__MSG(PersistentVolumeClaimVolumeSource, WF__STR(1, "claimName"), WF__BOOL(2, "readOnly"));

WF__MSG(DownwardAPIVolumeFile, WF__STR(1, "path"), WF__OBJ(2, "fieldRef", ObjectFieldSelector),
	WF__OBJ(3, "resourceFieldRef", ResourceFieldSelector), WF__I32P(4, "mode"));

WF__MSG(DownwardAPIVolumeSource, WF__OBJS(1, "items", DownwardAPIVolumeFile),
	WF__I32P(2, "defaultMode"));

WF__MSG(SecretProjection, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__OBJS(2, "items", KeyToPath), WF__BOOLP(4, "optional"));

WF__MSG(ConfigMapProjection, WF__INLINE(1, "localObjectReference", LocalObjectReference),
	WF__OBJS(2, "items", KeyToPath), WF__BOOLP(4, "optional"));

WF__MSG(DownwardAPIProjection, WF__OBJS(1, "items", DownwardAPIVolumeFile));

WF__MSG(ServiceAccountTokenProjection, WF__STR(1, "audience"), WF__I64P(2, "expirationSeconds"),
	WF__STR(3, "path"));

WF__MSG(ClusterTrustBundleProjection, WF__STR(1, "name"), WF__STR(2, "signerName"),
	WF__OBJ(3, "labelSelector", LabelSelector), WF__BOOLP(5, "optional"), WF__STR(4, "path"));

WF__MSG(PodCertificateProjection, WF__STR(1, "signerName"), WF__STR(2, "keyType"),
	WF__I32P(3, "maxExpirationSeconds"), WF__STR(4, "credentialBundlePath"),
	WF__STR(5, "keyPath"), WF__STR(6, "certificateChainPath"),
	WF__MAPSTR(7, "userAnnotations"));

WF__MSG(VolumeProjection, WF__OBJ(1, "secret", SecretProjection),
	WF__OBJ(2, "downwardAPI", DownwardAPIProjection),
	WF__OBJ(3, "configMap", ConfigMapProjection),
	WF__OBJ(4, "serviceAccountToken", ServiceAccountTokenProjection),
	WF__OBJ(5, "clusterTrustBundle", ClusterTrustBundleProjection),
	WF__OBJ(6, "podCertificate", PodCertificateProjection));

WF__MSG(ProjectedVolumeSource, WF__OBJS(1, "sources", VolumeProjection),
	WF__I32P(2, "defaultMode"));

WF__MSG(CSIVolumeSource, WF__STR(1, "driver"), WF__BOOLP(2, "readOnly"), WF__STR(3, "fsType"),
	WF__MAPSTR(4, "volumeAttributes"),
	WF__OBJ(5, "nodePublishSecretRef", LocalObjectReference));

WF__MSG(ImageVolumeSource, WF__STR(1, "reference"), WF__STR(2, "pullPolicy"));

/* In-tree plugins (most deprecated, still accepted by the API). */
WF__MSG(GCEPersistentDiskVolumeSource, WF__STR(1, "pdName"), WF__STR(2, "fsType"),
	WF__I32(3, "partition"), WF__BOOL(4, "readOnly"));

WF__MSG(AWSElasticBlockStoreVolumeSource, WF__STR(1, "volumeID"), WF__STR(2, "fsType"),
	WF__I32(3, "partition"), WF__BOOL(4, "readOnly"));

WF__MSG(GitRepoVolumeSource, WF__STR(1, "repository"), WF__STR(2, "revision"),
	WF__STR(3, "directory"));

WF__MSG(ISCSIVolumeSource, WF__STR(1, "targetPortal"), WF__STR(2, "iqn"), WF__I32(3, "lun"),
	WF__STR(4, "iscsiInterface"), WF__STR(5, "fsType"), WF__BOOL(6, "readOnly"),
	WF__STRS(7, "portals"), WF__BOOL(8, "chapAuthDiscovery"), WF__BOOL(11, "chapAuthSession"),
	WF__OBJ(10, "secretRef", LocalObjectReference), WF__STR(12, "initiatorName"));

WF__MSG(GlusterfsVolumeSource, WF__STR(1, "endpoints"), WF__STR(2, "path"),
	WF__BOOL(3, "readOnly"));

WF__MSG(RBDVolumeSource, WF__STRS(1, "monitors"), WF__STR(2, "image"), WF__STR(3, "fsType"),
	WF__STR(4, "pool"), WF__STR(5, "user"), WF__STR(6, "keyring"),
	WF__OBJ(7, "secretRef", LocalObjectReference), WF__BOOL(8, "readOnly"));

WF__MSG(FlexVolumeSource, WF__STR(1, "driver"), WF__STR(2, "fsType"),
	WF__OBJ(3, "secretRef", LocalObjectReference), WF__BOOL(4, "readOnly"),
	WF__MAPSTR(5, "options"));

WF__MSG(CinderVolumeSource, WF__STR(1, "volumeID"), WF__STR(2, "fsType"), WF__BOOL(3, "readOnly"),
	WF__OBJ(4, "secretRef", LocalObjectReference));

WF__MSG(CephFSVolumeSource, WF__STRS(1, "monitors"), WF__STR(2, "path"), WF__STR(3, "user"),
	WF__STR(4, "secretFile"), WF__OBJ(5, "secretRef", LocalObjectReference),
	WF__BOOL(6, "readOnly"));

WF__MSG(FlockerVolumeSource, WF__STR(1, "datasetName"), WF__STR(2, "datasetUUID"));

WF__MSG(FCVolumeSource, WF__STRS(1, "targetWWNs"), WF__I32P(2, "lun"), WF__STR(3, "fsType"),
	WF__BOOL(4, "readOnly"), WF__STRS(5, "wwids"));

WF__MSG(AzureFileVolumeSource, WF__STR(1, "secretName"), WF__STR(2, "shareName"),
	WF__BOOL(3, "readOnly"));

WF__MSG(VsphereVirtualDiskVolumeSource, WF__STR(1, "volumePath"), WF__STR(2, "fsType"),
	WF__STR(3, "storagePolicyName"), WF__STR(4, "storagePolicyID"));

WF__MSG(QuobyteVolumeSource, WF__STR(1, "registry"), WF__STR(2, "volume"), WF__BOOL(3, "readOnly"),
	WF__STR(4, "user"), WF__STR(5, "group"), WF__STR(6, "tenant"));

WF__MSG(AzureDiskVolumeSource, WF__STR(1, "diskName"), WF__STR(2, "diskURI"),
	WF__STR(3, "cachingMode"), WF__STR(4, "fsType"), WF__BOOLP(5, "readOnly"),
	WF__STR(6, "kind"));

WF__MSG(PhotonPersistentDiskVolumeSource, WF__STR(1, "pdID"), WF__STR(2, "fsType"));

WF__MSG(PortworxVolumeSource, WF__STR(1, "volumeID"), WF__STR(2, "fsType"),
	WF__BOOL(3, "readOnly"));

WF__MSG(ScaleIOVolumeSource, WF__STR(1, "gateway"), WF__STR(2, "system"),
	WF__OBJ(3, "secretRef", LocalObjectReference), WF__BOOL(4, "sslEnabled"),
	WF__STR(5, "protectionDomain"), WF__STR(6, "storagePool"), WF__STR(7, "storageMode"),
	WF__STR(8, "volumeName"), WF__STR(9, "fsType"), WF__BOOL(10, "readOnly"));

WF__MSG(StorageOSVolumeSource, WF__STR(1, "volumeName"), WF__STR(2, "volumeNamespace"),
	WF__STR(3, "fsType"), WF__BOOL(4, "readOnly"),
	WF__OBJ(5, "secretRef", LocalObjectReference));

/* Generic ephemeral volumes: a PersistentVolumeClaim template. */
WF__MSG(TypedLocalObjectReference, WF__STR(1, "apiGroup"), WF__STR(2, "kind"), WF__STR(3, "name"));

WF__MSG(TypedObjectReference, WF__STR(1, "apiGroup"), WF__STR(2, "kind"), WF__STR(3, "name"),
	WF__STR(4, "namespace"));

WF__MSG(VolumeResourceRequirements, WF__MAPQTY(1, "limits"), WF__MAPQTY(2, "requests"));

WF__MSG(PersistentVolumeClaimSpec, WF__STRS(1, "accessModes"),
	WF__OBJ(4, "selector", LabelSelector), WF__OBJ(2, "resources", VolumeResourceRequirements),
	WF__STR(3, "volumeName"), WF__STR(5, "storageClassName"), WF__STR(6, "volumeMode"),
	WF__OBJ(7, "dataSource", TypedLocalObjectReference),
	WF__OBJ(8, "dataSourceRef", TypedObjectReference), WF__STR(9, "volumeAttributesClassName"));

WF__MSG(PersistentVolumeClaimTemplate, WF__OBJ(1, "metadata", ObjectMeta),
	WF__OBJ(2, "spec", PersistentVolumeClaimSpec));

WF__MSG(EphemeralVolumeSource, WF__OBJ(1, "volumeClaimTemplate", PersistentVolumeClaimTemplate));

WF__MSG(VolumeSource, WF__OBJ(1, "hostPath", HostPathVolumeSource),
	WF__OBJ(2, "emptyDir", EmptyDirVolumeSource),
	WF__OBJ(3, "gcePersistentDisk", GCEPersistentDiskVolumeSource),
	WF__OBJ(4, "awsElasticBlockStore", AWSElasticBlockStoreVolumeSource),
	WF__OBJ(5, "gitRepo", GitRepoVolumeSource), WF__OBJ(6, "secret", SecretVolumeSource),
	WF__OBJ(7, "nfs", NFSVolumeSource), WF__OBJ(8, "iscsi", ISCSIVolumeSource),
	WF__OBJ(9, "glusterfs", GlusterfsVolumeSource),
	WF__OBJ(10, "persistentVolumeClaim", PersistentVolumeClaimVolumeSource),
	WF__OBJ(11, "rbd", RBDVolumeSource), WF__OBJ(12, "flexVolume", FlexVolumeSource),
	WF__OBJ(13, "cinder", CinderVolumeSource), WF__OBJ(14, "cephfs", CephFSVolumeSource),
	WF__OBJ(15, "flocker", FlockerVolumeSource),
	WF__OBJ(16, "downwardAPI", DownwardAPIVolumeSource), WF__OBJ(17, "fc", FCVolumeSource),
	WF__OBJ(18, "azureFile", AzureFileVolumeSource),
	WF__OBJ(19, "configMap", ConfigMapVolumeSource),
	WF__OBJ(20, "vsphereVolume", VsphereVirtualDiskVolumeSource),
	WF__OBJ(21, "quobyte", QuobyteVolumeSource),
	WF__OBJ(22, "azureDisk", AzureDiskVolumeSource),
	WF__OBJ(23, "photonPersistentDisk", PhotonPersistentDiskVolumeSource),
	WF__OBJ(26, "projected", ProjectedVolumeSource),
	WF__OBJ(24, "portworxVolume", PortworxVolumeSource),
	WF__OBJ(25, "scaleIO", ScaleIOVolumeSource),
	WF__OBJ(27, "storageos", StorageOSVolumeSource), WF__OBJ(28, "csi", CSIVolumeSource),
	WF__OBJ(29, "ephemeral", EphemeralVolumeSource), WF__OBJ(30, "image", ImageVolumeSource));

WF__MSG(Volume, WF__STR(1, "name"), WF__INLINE(2, "volumeSource", VolumeSource));

/* ---- core/v1: scheduling --------------------------------------------------------- */

WF__MSG(NodeSelectorRequirement, WF__STR(1, "key"), WF__STR(2, "operator"), WF__STRS(3, "values"));

WF__MSG(NodeSelectorTerm, WF__OBJS(1, "matchExpressions", NodeSelectorRequirement),
	WF__OBJS(2, "matchFields", NodeSelectorRequirement));

WF__MSG(NodeSelector, WF__OBJS(1, "nodeSelectorTerms", NodeSelectorTerm));

WF__MSG(PreferredSchedulingTerm, WF__I32(1, "weight"), WF__OBJ(2, "preference", NodeSelectorTerm));

WF__MSG(NodeAffinity, WF__OBJ(1, "requiredDuringSchedulingIgnoredDuringExecution", NodeSelector),
	WF__OBJS(2, "preferredDuringSchedulingIgnoredDuringExecution", PreferredSchedulingTerm));

WF__MSG(PodAffinityTerm, WF__OBJ(1, "labelSelector", LabelSelector), WF__STRS(2, "namespaces"),
	WF__STR(3, "topologyKey"), WF__OBJ(4, "namespaceSelector", LabelSelector),
	WF__STRS(5, "matchLabelKeys"), WF__STRS(6, "mismatchLabelKeys"));

WF__MSG(WeightedPodAffinityTerm, WF__I32(1, "weight"),
	WF__OBJ(2, "podAffinityTerm", PodAffinityTerm));

WF__MSG(PodAffinity, WF__OBJS(1, "requiredDuringSchedulingIgnoredDuringExecution", PodAffinityTerm),
	WF__OBJS(2, "preferredDuringSchedulingIgnoredDuringExecution", WeightedPodAffinityTerm));

WF__MSG(PodAntiAffinity,
	WF__OBJS(1, "requiredDuringSchedulingIgnoredDuringExecution", PodAffinityTerm),
	WF__OBJS(2, "preferredDuringSchedulingIgnoredDuringExecution", WeightedPodAffinityTerm));

WF__MSG(Affinity, WF__OBJ(1, "nodeAffinity", NodeAffinity), WF__OBJ(2, "podAffinity", PodAffinity),
	WF__OBJ(3, "podAntiAffinity", PodAntiAffinity));

WF__MSG(Toleration, WF__STR(1, "key"), WF__STR(2, "operator"), WF__STR(3, "value"),
	WF__STR(4, "effect"), WF__I64P(5, "tolerationSeconds"));

WF__MSG(TopologySpreadConstraint, WF__I32(1, "maxSkew"), WF__STR(2, "topologyKey"),
	WF__STR(3, "whenUnsatisfiable"), WF__OBJ(4, "labelSelector", LabelSelector),
	WF__I32P(5, "minDomains"), WF__STR(6, "nodeAffinityPolicy"), WF__STR(7, "nodeTaintsPolicy"),
	WF__STRS(8, "matchLabelKeys"));

/* ---- core/v1: pods --------------------------------------------------------------- */

WF__MSG(Sysctl, WF__STR(1, "name"), WF__STR(2, "value"));

WF__MSG(PodSecurityContext, WF__OBJ(1, "seLinuxOptions", SELinuxOptions),
	WF__OBJ(8, "windowsOptions", WindowsSecurityContextOptions), WF__I64P(2, "runAsUser"),
	WF__I64P(6, "runAsGroup"), WF__BOOLP(3, "runAsNonRoot"), WF__I64S(4, "supplementalGroups"),
	WF__STR(12, "supplementalGroupsPolicy"), WF__I64P(5, "fsGroup"),
	WF__OBJS(7, "sysctls", Sysctl), WF__STR(9, "fsGroupChangePolicy"),
	WF__OBJ(10, "seccompProfile", SeccompProfile),
	WF__OBJ(11, "appArmorProfile", AppArmorProfile), WF__STR(13, "seLinuxChangePolicy"));

WF__MSG(HostAlias, WF__STR(1, "ip"), WF__STRS(2, "hostnames"));

WF__MSG(PodDNSConfigOption, WF__STR(1, "name"), WF__STR(2, "value"));

WF__MSG(PodDNSConfig, WF__STRS(1, "nameservers"), WF__STRS(2, "searches"),
	WF__OBJS(3, "options", PodDNSConfigOption));

WF__MSG(PodReadinessGate, WF__STR(1, "conditionType"));

WF__MSG(PodOS, WF__STR(1, "name"));

WF__MSG(PodSchedulingGate, WF__STR(1, "name"));

WF__MSG(PodResourceClaim, WF__STR(1, "name"), WF__STR(3, "resourceClaimName"),
	WF__STR(4, "resourceClaimTemplateName"));

WF__MSG(WorkloadReference, WF__STR(1, "name"), WF__STR(2, "podGroup"),
	WF__STR(3, "podGroupReplicaKey"));

WF__MSG(PodSpec, WF__OBJS(1, "volumes", Volume), WF__OBJS(20, "initContainers", Container),
	WF__OBJS(2, "containers", Container),
	WF__OBJS(34, "ephemeralContainers", EphemeralContainer), WF__STR(3, "restartPolicy"),
	WF__I64P(4, "terminationGracePeriodSeconds"), WF__I64P(5, "activeDeadlineSeconds"),
	WF__STR(6, "dnsPolicy"), WF__MAPSTR(7, "nodeSelector"), WF__STR(8, "serviceAccountName"),
	WF__STR(9, "serviceAccount"), WF__BOOLP(21, "automountServiceAccountToken"),
	WF__STR(10, "nodeName"), WF__BOOL(11, "hostNetwork"), WF__BOOL(12, "hostPID"),
	WF__BOOL(13, "hostIPC"), WF__BOOLP(27, "shareProcessNamespace"),
	WF__OBJ(14, "securityContext", PodSecurityContext),
	WF__OBJS(15, "imagePullSecrets", LocalObjectReference), WF__STR(16, "hostname"),
	WF__STR(17, "subdomain"), WF__OBJ(18, "affinity", Affinity), WF__STR(19, "schedulerName"),
	WF__OBJS(22, "tolerations", Toleration), WF__OBJS(23, "hostAliases", HostAlias),
	WF__STR(24, "priorityClassName"), WF__I32P(25, "priority"),
	WF__OBJ(26, "dnsConfig", PodDNSConfig), WF__OBJS(28, "readinessGates", PodReadinessGate),
	WF__STR(29, "runtimeClassName"), WF__BOOLP(30, "enableServiceLinks"),
	WF__STR(31, "preemptionPolicy"), WF__MAPQTY(32, "overhead"),
	WF__OBJS(33, "topologySpreadConstraints", TopologySpreadConstraint),
	WF__BOOLP(35, "setHostnameAsFQDN"), WF__OBJ(36, "os", PodOS), WF__BOOLP(37, "hostUsers"),
	WF__OBJS(38, "schedulingGates", PodSchedulingGate),
	WF__OBJS(39, "resourceClaims", PodResourceClaim),
	WF__OBJ(40, "resources", ResourceRequirements), WF__STR(41, "hostnameOverride"),
	WF__OBJ(42, "workloadRef", WorkloadReference));

WF__MSG(PodTemplateSpec, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", PodSpec));

WF__MSG(PodCondition, WF__STR(1, "type"), WF__I64(7, "observedGeneration"), WF__STR(2, "status"),
	WF__TIME(3, "lastProbeTime"), WF__TIME(4, "lastTransitionTime"), WF__STR(5, "reason"),
	WF__STR(6, "message"));

WF__MSG(ContainerStateWaiting, WF__STR(1, "reason"), WF__STR(2, "message"));

WF__MSG(ContainerStateRunning, WF__TIME(1, "startedAt"));

WF__MSG(ContainerStateTerminated, WF__I32P(1, "exitCode"), WF__I32(2, "signal"),
	WF__STR(3, "reason"), WF__STR(4, "message"), WF__TIME(5, "startedAt"),
	WF__TIME(6, "finishedAt"), WF__STR(7, "containerID"));

WF__MSG(ContainerState, WF__OBJ(1, "waiting", ContainerStateWaiting),
	WF__OBJ(2, "running", ContainerStateRunning),
	WF__OBJ(3, "terminated", ContainerStateTerminated));

WF__MSG(ImageVolumeStatus, WF__STR(1, "imageRef"));

WF__MSG(VolumeStatus, WF__OBJ(1, "image", ImageVolumeStatus));

WF__MSG(VolumeMountStatus, WF__STR(1, "name"), WF__STR(2, "mountPath"), WF__BOOL(3, "readOnly"),
	WF__STR(4, "recursiveReadOnly"), WF__OBJ(5, "volumeStatus", VolumeStatus));

WF__MSG(LinuxContainerUser, WF__I64P(1, "uid"), WF__I64P(2, "gid"),
	WF__I64S(3, "supplementalGroups"));

WF__MSG(ContainerUser, WF__OBJ(1, "linux", LinuxContainerUser));

WF__MSG(ResourceHealth, WF__STR(1, "resourceID"), WF__STR(2, "health"), WF__STR(6, "message"));

WF__MSG(ResourceStatus, WF__STR(1, "name"), WF__OBJS(2, "resources", ResourceHealth));

WF__MSG(ContainerStatus, WF__STR(1, "name"), WF__OBJ(2, "state", ContainerState),
	WF__OBJ(3, "lastState", ContainerState), WF__BOOLP(4, "ready"), WF__I32P(5, "restartCount"),
	WF__STR(6, "image"), WF__STR(7, "imageID"), WF__STR(8, "containerID"),
	WF__BOOLP(9, "started"), WF__MAPQTY(10, "allocatedResources"),
	WF__OBJ(11, "resources", ResourceRequirements),
	WF__OBJS(12, "volumeMounts", VolumeMountStatus), WF__OBJ(13, "user", ContainerUser),
	WF__OBJS(14, "allocatedResourcesStatus", ResourceStatus), WF__STR(15, "stopSignal"));

WF__MSG(PodIP, WF__STR(1, "ip"));

WF__MSG(HostIP, WF__STR(1, "ip"));

WF__MSG(PodResourceClaimStatus, WF__STR(1, "name"), WF__STR(2, "resourceClaimName"));

WF__MSG(ContainerExtendedResourceRequest, WF__STR(1, "containerName"), WF__STR(2, "resourceName"),
	WF__STR(3, "requestName"));

WF__MSG(PodExtendedResourceClaimStatus,
	WF__OBJS(1, "requestMappings", ContainerExtendedResourceRequest),
	WF__STR(2, "resourceClaimName"));

WF__MSG(PodStatus, WF__I64(17, "observedGeneration"), WF__STR(1, "phase"),
	WF__OBJS(2, "conditions", PodCondition), WF__STR(3, "message"), WF__STR(4, "reason"),
	WF__STR(11, "nominatedNodeName"), WF__STR(5, "hostIP"), WF__OBJS(16, "hostIPs", HostIP),
	WF__STR(6, "podIP"), WF__OBJS(12, "podIPs", PodIP), WF__TIME(7, "startTime"),
	WF__OBJS(10, "initContainerStatuses", ContainerStatus),
	WF__OBJS(8, "containerStatuses", ContainerStatus), WF__STR(9, "qosClass"),
	WF__OBJS(13, "ephemeralContainerStatuses", ContainerStatus), WF__STR(14, "resize"),
	WF__OBJS(15, "resourceClaimStatuses", PodResourceClaimStatus),
	WF__OBJ(18, "extendedResourceClaimStatus", PodExtendedResourceClaimStatus),
	WF__MAPQTY(19, "allocatedResources"), WF__OBJ(20, "resources", ResourceRequirements));

WF__MSG(Pod, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", PodSpec),
	WF__OBJ(3, "status", PodStatus));

/* ---- core/v1: nodes and events --------------------------------------------------- */

WF__MSG(Taint, WF__STR(1, "key"), WF__STR(2, "value"), WF__STR(3, "effect"),
	WF__TIME(4, "timeAdded"));

WF__MSG(ConfigMapNodeConfigSource, WF__STR(1, "namespace"), WF__STR(2, "name"), WF__STR(3, "uid"),
	WF__STR(4, "resourceVersion"), WF__STR(5, "kubeletConfigKey"));

WF__MSG(NodeConfigSource, WF__OBJ(2, "configMap", ConfigMapNodeConfigSource));

WF__MSG(NodeSpec, WF__STR(1, "podCIDR"), WF__STRS(7, "podCIDRs"), WF__STR(3, "providerID"),
	WF__BOOL(4, "unschedulable"), WF__OBJS(5, "taints", Taint),
	WF__OBJ(6, "configSource", NodeConfigSource), WF__STR(2, "externalID"));

WF__MSG(NodeCondition, WF__STR(1, "type"), WF__STR(2, "status"), WF__TIME(3, "lastHeartbeatTime"),
	WF__TIME(4, "lastTransitionTime"), WF__STR(5, "reason"), WF__STR(6, "message"));

WF__MSG(NodeAddress, WF__STR(1, "type"), WF__STR(2, "address"));

WF__MSG(DaemonEndpoint, WF__I32P(1, "Port"));

WF__MSG(NodeDaemonEndpoints, WF__OBJ(1, "kubeletEndpoint", DaemonEndpoint));

WF__MSG(NodeSwapStatus, WF__I64P(1, "capacity"));

WF__MSG(NodeSystemInfo, WF__STR(1, "machineID"), WF__STR(2, "systemUUID"), WF__STR(3, "bootID"),
	WF__STR(4, "kernelVersion"), WF__STR(5, "osImage"), WF__STR(6, "containerRuntimeVersion"),
	WF__STR(7, "kubeletVersion"), WF__STR(8, "kubeProxyVersion"), WF__STR(9, "operatingSystem"),
	WF__STR(10, "architecture"), WF__OBJ(11, "swap", NodeSwapStatus));

WF__MSG(ContainerImage, WF__STRS(1, "names"), WF__I64(2, "sizeBytes"));

WF__MSG(AttachedVolume, WF__STR(1, "name"), WF__STR(2, "devicePath"));

WF__MSG(NodeConfigStatus, WF__OBJ(1, "assigned", NodeConfigSource),
	WF__OBJ(2, "active", NodeConfigSource), WF__OBJ(3, "lastKnownGood", NodeConfigSource),
	WF__STR(4, "error"));

WF__MSG(NodeRuntimeHandlerFeatures, WF__BOOLP(1, "recursiveReadOnlyMounts"),
	WF__BOOLP(2, "userNamespaces"));

WF__MSG(NodeRuntimeHandler, WF__STR(1, "name"), WF__OBJ(2, "features", NodeRuntimeHandlerFeatures));

WF__MSG(NodeFeatures, WF__BOOLP(1, "supplementalGroupsPolicy"), WF__BOOLP(2, "containerUlimits"));

WF__MSG(NodeStatus, WF__MAPQTY(1, "capacity"), WF__MAPQTY(2, "allocatable"), WF__STR(3, "phase"),
	WF__OBJS(4, "conditions", NodeCondition), WF__OBJS(5, "addresses", NodeAddress),
	WF__OBJ(6, "daemonEndpoints", NodeDaemonEndpoints), WF__OBJ(7, "nodeInfo", NodeSystemInfo),
	WF__OBJS(8, "images", ContainerImage), WF__STRS(9, "volumesInUse"),
	WF__OBJS(10, "volumesAttached", AttachedVolume), WF__OBJ(11, "config", NodeConfigStatus),
	WF__OBJS(12, "runtimeHandlers", NodeRuntimeHandler), WF__OBJ(13, "features", NodeFeatures),
	WF__STRS(14, "declaredFeatures"));

WF__MSG(Node, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", NodeSpec),
	WF__OBJ(3, "status", NodeStatus));

WF__MSG(EventSource, WF__STR(1, "component"), WF__STR(2, "host"));

WF__MSG(EventSeries, WF__I32(1, "count"), WF__MTIME(2, "lastObservedTime"));

WF__MSG(Event, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "involvedObject", ObjectReference),
	WF__STR(3, "reason"), WF__STR(4, "message"), WF__OBJ(5, "source", EventSource),
	WF__TIME(6, "firstTimestamp"), WF__TIME(7, "lastTimestamp"), WF__I32(8, "count"),
	WF__STR(9, "type"), WF__MTIME(10, "eventTime"), WF__OBJ(11, "series", EventSeries),
	WF__STR(12, "action"), WF__OBJ(13, "related", ObjectReference),
	WF__STR(14, "reportingComponent"), WF__STR(15, "reportingInstance"));

/* ---- coordination.k8s.io/v1 ------------------------------------------------------ */

WF__MSG(LeaseSpec, WF__STR(1, "holderIdentity"), WF__I32P(2, "leaseDurationSeconds"),
	WF__MTIME(3, "acquireTime"), WF__MTIME(4, "renewTime"), WF__I32P(5, "leaseTransitions"),
	WF__STR(6, "strategy"), WF__STR(7, "preferredHolder"));

WF__MSG(Lease, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", LeaseSpec));

/* ---- batch/v1 -------------------------------------------------------------------- */

WF__MSG(PodFailurePolicyOnExitCodesRequirement, WF__STR(1, "containerName"), WF__STR(2, "operator"),
	WF__I32S(3, "values"));

WF__MSG(PodFailurePolicyOnPodConditionsPattern, WF__STR(1, "type"), WF__STR(2, "status"));

WF__MSG(PodFailurePolicyRule, WF__STR(1, "action"),
	WF__OBJ(2, "onExitCodes", PodFailurePolicyOnExitCodesRequirement),
	WF__OBJS(3, "onPodConditions", PodFailurePolicyOnPodConditionsPattern));

WF__MSG(PodFailurePolicy, WF__OBJS(1, "rules", PodFailurePolicyRule));

WF__MSG(SuccessPolicyRule, WF__STR(1, "succeededIndexes"), WF__I32P(2, "succeededCount"));

WF__MSG(SuccessPolicy, WF__OBJS(1, "rules", SuccessPolicyRule));

WF__MSG(JobSpec, WF__I32P(1, "parallelism"), WF__I32P(2, "completions"),
	WF__I64P(3, "activeDeadlineSeconds"), WF__OBJ(11, "podFailurePolicy", PodFailurePolicy),
	WF__OBJ(16, "successPolicy", SuccessPolicy), WF__I32P(7, "backoffLimit"),
	WF__I32P(12, "backoffLimitPerIndex"), WF__I32P(13, "maxFailedIndexes"),
	WF__OBJ(4, "selector", LabelSelector), WF__BOOLP(5, "manualSelector"),
	WF__OBJ(6, "template", PodTemplateSpec), WF__I32P(8, "ttlSecondsAfterFinished"),
	WF__STR(9, "completionMode"), WF__BOOLP(10, "suspend"), WF__STR(14, "podReplacementPolicy"),
	WF__STR(15, "managedBy"));

WF__MSG(JobCondition, WF__STR(1, "type"), WF__STR(2, "status"), WF__TIME(3, "lastProbeTime"),
	WF__TIME(4, "lastTransitionTime"), WF__STR(5, "reason"), WF__STR(6, "message"));

WF__MSG(UncountedTerminatedPods, WF__STRS(1, "succeeded"), WF__STRS(2, "failed"));

WF__MSG(JobStatus, WF__OBJS(1, "conditions", JobCondition), WF__TIME(2, "startTime"),
	WF__TIME(3, "completionTime"), WF__I32(4, "active"), WF__I32(5, "succeeded"),
	WF__I32(6, "failed"), WF__I32P(11, "terminating"), WF__STR(7, "completedIndexes"),
	WF__STR(10, "failedIndexes"),
	WF__OBJ(8, "uncountedTerminatedPods", UncountedTerminatedPods), WF__I32P(9, "ready"));

WF__MSG(Job, WF__OBJ(1, "metadata", ObjectMeta), WF__OBJ(2, "spec", JobSpec),
	WF__OBJ(3, "status", JobStatus));

/* ---- the kinds ------------------------------------------------------------------- */

static const struct {
	const char *api_version; /* NULL: any */
	const char *kind;
	const wf_pb_msg *msg;
} wf__pb_kinds[] = {
    {"v1", "Namespace", &wf__m_Namespace},
    {"v1", "ConfigMap", &wf__m_ConfigMap},
    {"v1", "Secret", &wf__m_Secret},
    {"v1", "ServiceAccount", &wf__m_ServiceAccount},
    {"v1", "Service", &wf__m_Service},
    {"v1", "Pod", &wf__m_Pod},
    {"v1", "Node", &wf__m_Node},
    {"v1", "Event", &wf__m_Event},
    {"v1", "Binding", &wf__m_Binding},
    {"batch/v1", "Job", &wf__m_Job},
    {"coordination.k8s.io/v1", "Lease", &wf__m_Lease},
    {NULL, "DeleteOptions", &wf__m_DeleteOptions},
};

const wf_pb_msg *wf_pb_schema_find(const char *api_version, const char *kind)
{
	if (!api_version || !kind)
		return NULL;
	for (size_t i = 0; i < WF__N(wf__pb_kinds); i++)
		if (!strcmp(wf__pb_kinds[i].kind, kind) &&
		    (!wf__pb_kinds[i].api_version ||
		     !strcmp(wf__pb_kinds[i].api_version, api_version)))
			return &wf__pb_kinds[i].msg[0];
	return NULL;
}
