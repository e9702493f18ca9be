/*
 * test_field_validation.c - unit tests for field_validation.c: unknown-field
 * paths in Kubernetes' notation (nested lists, maps, embedded structs,
 * leaves, wrong types), completeness of the descriptor tables against full
 * manifests of every served kind written from the Kubernetes API reference,
 * duplicate keys found in JSON text (escapes, nesting, malformed and
 * hostile input), the directive parser, list limits and the messages and
 * Warning header values. Manifests are written with ' for " to stay
 * readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/field_validation.h"
#include "lib/wf_mem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A copy of s with every ' turned into ". */
static char *dq(const char *s)
{
	char *c = wf_xstrdup(s);
	for (char *p = c; *p; p++)
		if (*p == '\'')
			*p = '"';
	return c;
}

static json_t *parse(const char *sq)
{
	char *t = dq(sq);
	json_error_t je;
	json_t *v = json_loads(t, 0, &je);
	if (!v)
		fail_msg("bad test JSON: %s at %d: %s", je.text, je.position, t);
	free(t);
	return v;
}

static const wf_pb_msg *schema(const char *av, const char *kind)
{
	const wf_pb_msg *m = wf_pb_schema_find(av, kind);
	assert_non_null(m);
	return m;
}

/* The unknown fields of obj (in ' notation) must be exactly want, in order. */
static void expect_unknown(const char *av, const char *kind, const char *obj,
			   const char *const *want, size_t nwant)
{
	json_t *o = parse(obj);
	wf_fv_list l = {0};
	wf_fv_unknown_fields(schema(av, kind), o, &l);
	bool same = l.n == nwant;
	for (size_t i = 0; same && i < nwant; i++)
		same = l.v[i].kind == WF_FV_UNKNOWN && !strcmp(l.v[i].path, want[i]);
	if (!same) {
		for (size_t i = 0; i < l.n; i++)
			fprintf(stderr, "  got: %s\n", l.v[i].path);
		for (size_t i = 0; i < nwant; i++)
			fprintf(stderr, "  want: %s\n", want[i]);
		fail_msg("unknown fields differ for %s", kind);
	}
	wf_fv_list_free(&l);
	json_decref(o);
}

#define EXPECT_NONE(av, kind, obj) expect_unknown(av, kind, obj, NULL, 0)
#define EXPECT(av, kind, obj, ...)                                                                 \
	do {                                                                                       \
		static const char *const w_[] = {__VA_ARGS__};                                     \
		expect_unknown(av, kind, obj, w_, NELEM(w_));                                      \
	} while (0)

/* The duplicate keys of text (in ' notation) must be exactly want. */
static void expect_dups(const char *text, const char *const *want, size_t nwant)
{
	char *t = dq(text);
	wf_fv_list l = {0};
	wf_fv_duplicate_fields(t, strlen(t), &l);
	bool same = l.n == nwant;
	for (size_t i = 0; same && i < nwant; i++)
		same = l.v[i].kind == WF_FV_DUPLICATE && !strcmp(l.v[i].path, want[i]);
	if (!same) {
		for (size_t i = 0; i < l.n; i++)
			fprintf(stderr, "  got: %s\n", l.v[i].path);
		fail_msg("duplicates differ for %s", t);
	}
	wf_fv_list_free(&l);
	free(t);
}

#define DUPS_NONE(text) expect_dups(text, NULL, 0)
#define DUPS(text, ...)                                                                            \
	do {                                                                                       \
		static const char *const w_[] = {__VA_ARGS__};                                     \
		expect_dups(text, w_, NELEM(w_));                                                  \
	} while (0)

/* ---- paths ---------------------------------------------------------------------- */

static void test_paths(void **state)
{
	(void)state;
	EXPECT("v1", "Pod",
	       "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'p'},'spec':{'containers':"
	       "[{'name':'a','image':'i','bogusField':1}]}}",
	       "spec.containers[0].bogusField");
	/* top level, metadata, spec, status; document order; no descent into unknowns */
	EXPECT(
	    "v1", "Pod",
	    "{'extra':{'deep':{'x':1}},'metadata':{'name':'p','nmae':'q'},'spec':{'containerz':[]},"
	    "'status':{'phase':'Running','phaze':'x'}}",
	    "extra", "metadata.nmae", "spec.containerz", "status.phaze");
	/* several list levels, later elements */
	EXPECT("batch/v1", "Job",
	       "{'spec':{'template':{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c',"
	       "'ports':[{'containerPort':1},{'containerPort':2,'bogus':true}]}]}}}}",
	       "spec.template.spec.containers[2].ports[1].bogus");
	EXPECT(
	    "v1", "Pod",
	    "{'spec':{'affinity':{'podAntiAffinity':{'"
	    "preferredDuringSchedulingIgnoredDuringExecution':"
	    "[{'weight':1,'podAffinityTerm':{'topologyKey':'k','labelSelector':{'matchExpressions':"
	    "[{'key':'a','operator':'In','values':['x'],'vals':[]}]}}}]}}}}",
	    "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]."
	    "podAffinityTerm.labelSelector.matchExpressions[0].vals");
	/* apiVersion and kind are known at the top only */
	EXPECT("batch/v1", "Job",
	       "{'apiVersion':'batch/v1','kind':'Job','spec':{'template':{'apiVersion':'v1',"
	       "'kind':'Pod','spec':{}}}}",
	       "spec.template.apiVersion", "spec.template.kind");
	/* keys with odd characters are reported as they are */
	EXPECT("v1", "ConfigMap", "{'metadata':{'name':'c'},'data':{},'a.b[0]':1,'':2}", "a.b[0]",
	       "");
}

static void test_maps_are_free_form(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "v1", "Pod",
	    "{'metadata':{'labels':{'x':'1','app.kubernetes.io/name':'y'},'annotations':"
	    "{'anything/at.all':'v'}},'spec':{'nodeSelector':{'nvidia.com/gpu.product':'A100'},"
	    "'overhead':{'cpu':'1'},'containers':[{'name':'a','resources':{'limits':"
	    "{'nvidia.com/gpu':1,'whatever':'2'},'requests':{'cpu':'500m'}}}],'volumes':[{'name':"
	    "'v','csi':{'driver':'d','volumeAttributes':{'any':'thing'}}}]},'status':"
	    "{'containerStatuses':[{'name':'a','allocatedResources':{'x':'1'}}]}}");
	EXPECT_NONE("v1", "ConfigMap",
		    "{'data':{'spec':'x','bogusField':'y'},'binaryData':{'k':'AAAA'}}");
	EXPECT_NONE("v1", "Secret", "{'data':{'a':'YQ=='},'stringData':{'b':'c'},'type':'Opaque'}");
	EXPECT_NONE("v1", "Node",
		    "{'status':{'capacity':{'nvidia.com/mig-1g.10gb':'7'},'allocatable':"
		    "{'amd.com/gpu':'1'}}}");
	EXPECT_NONE("v1", "Service", "{'spec':{'selector':{'spec':'x','metadata':'y'}}}");
}

static void test_inline_structs(void **state)
{
	(void)state;
	/* VolumeSource, ProbeHandler, LocalObjectReference and Container are
	 * embedded: their fields belong to the embedding object... */
	EXPECT_NONE(
	    "v1", "Pod",
	    "{'spec':{'volumes':[{'name':'v','configMap':{'name':'cm','items':[{'key':'k',"
	    "'path':'p'}]}},{'name':'w','emptyDir':{}}],'containers':[{'name':'a',"
	    "'livenessProbe':{'exec':{'command':['true']},'periodSeconds':5},'env':[{'name':'E',"
	    "'valueFrom':{'secretKeyRef':{'name':'s','key':'k','optional':true}}}],'envFrom':"
	    "[{'configMapRef':{'name':'c'}}]}],'ephemeralContainers':[{'name':'dbg','image':'b',"
	    "'targetContainerName':'a','stdin':true,'tty':true}]}}");
	/* ...and the embedded struct's own name is no field at all */
	EXPECT(
	    "v1", "Pod",
	    "{'spec':{'volumes':[{'name':'v','volumeSource':{'emptyDir':{}}}],'containers':[{'name'"
	    ":'a','readinessProbe':{'handler':{}},'env':[{'name':'E','valueFrom':{'configMapKeyRef'"
	    ":"
	    "{'localObjectReference':{'name':'c'},'key':'k'}}}]}],'ephemeralContainers':[{'name':"
	    "'d','ephemeralContainerCommon':{}}]}}",
	    "spec.volumes[0].volumeSource", "spec.containers[0].readinessProbe.handler",
	    "spec.containers[0].env[0].valueFrom.configMapKeyRef.localObjectReference",
	    "spec.ephemeralContainers[0].ephemeralContainerCommon");
	/* a field of the embedding struct is not known inside a sibling */
	EXPECT("v1", "Pod", "{'spec':{'volumes':[{'name':'v','emptyDir':{'name':'x'}}]}}",
	       "spec.volumes[0].emptyDir.name");
}

static void test_leaves_and_wrong_types(void **state)
{
	(void)state;
	/* IntOrString, Quantity, Time, MicroTime and FieldsV1 are leaves; a
	 * value of the wrong JSON type is for validation to report */
	EXPECT_NONE(
	    "v1", "Service",
	    "{'spec':{'ports':[{'port':80,'targetPort':{'x':1}},{'port':81,'targetPort':'web'}"
	    ",7,null,[1]]}}");
	EXPECT_NONE(
	    "v1", "Pod",
	    "{'metadata':{'creationTimestamp':{'seconds':1},'managedFields':[{'manager':'m',"
	    "'fieldsType':'FieldsV1','fieldsV1':{'f:spec':{'f:anything':{}}},'time':null}]},"
	    "'spec':{'containers':{'name':'not a list'},'volumes':[{'name':'v','emptyDir':"
	    "{'sizeLimit':{'q':1}}}],'securityContext':'nope','affinity':[]}}");
	EXPECT_NONE(
	    "coordination.k8s.io/v1", "Lease",
	    "{'spec':{'renewTime':{'weird':1},'acquireTime':'2024-01-01T00:00:00.000000Z'}}");
	/* nulls are values like any other: unknown is unknown */
	EXPECT("v1", "Pod", "{'metadata':{'creationTimestamp':null,'bogus':null},'status':null}",
	       "metadata.bogus");
}

static void test_no_schema_and_non_objects(void **state)
{
	(void)state;
	assert_null(wf_pb_schema_find("kueue.x-k8s.io/v1beta1", "ClusterQueue"));
	assert_null(wf_pb_schema_find("v1", "Nope"));
	assert_null(wf_pb_schema_find("v2", "Pod"));
	json_t *o = parse("{'anything':{'goes':1}}");
	wf_fv_list l = {0};
	wf_fv_unknown_fields(NULL, o, &l);
	assert_int_equal(l.n, 0);
	json_t *a = parse("[{'x':1}]");
	wf_fv_unknown_fields(schema("v1", "Pod"), a, &l);
	wf_fv_unknown_fields(schema("v1", "Pod"), NULL, &l);
	assert_int_equal(l.n, 0);
	json_decref(a);
	json_decref(o);
}

/* ---- completeness: full manifests of every served kind ------------------------ */

#define OBJMETA                                                                                    \
	"{'name':'n','generateName':'g-','namespace':'default','selfLink':'/x','uid':'u',"         \
	"'resourceVersion':'5','generation':2,'creationTimestamp':'2024-01-01T00:00:00Z',"         \
	"'deletionTimestamp':'2024-01-01T00:00:00Z','deletionGracePeriodSeconds':30,"              \
	"'labels':{'a':'b'},'annotations':{'c':'d'},'ownerReferences':[{'apiVersion':'batch/v1',"  \
	"'kind':'Job','name':'j','uid':'u','controller':true,'blockOwnerDeletion':true}],"         \
	"'finalizers':['f'],'managedFields':[{'manager':'kubectl','operation':'Apply',"            \
	"'apiVersion':'v1','time':'2024-01-01T00:00:00Z','fieldsType':'FieldsV1','fieldsV1':{},"   \
	"'subresource':'status'}]}"

#define SELECTOR                                                                                   \
	"{'matchLabels':{'a':'b'},'matchExpressions':[{'key':'k','operator':'In','values':['v']}]" \
	"}"

#define HANDLER                                                                                    \
	"'exec':{'command':['sh','-c','true']},'httpGet':{'path':'/h','port':8080,'host':'h',"     \
	"'scheme':'HTTP','httpHeaders':[{'name':'X','value':'y'}]},'tcpSocket':{'port':'web',"     \
	"'host':'h'}"

#define PROBE                                                                                      \
	"{" HANDLER ",'grpc':{'port':9000,'service':'s'},'initialDelaySeconds':1,"                 \
	"'timeoutSeconds':1,'periodSeconds':10,'successThreshold':1,'failureThreshold':3,"         \
	"'terminationGracePeriodSeconds':5}"

#define SECCTX                                                                                     \
	"{'capabilities':{'add':['NET_ADMIN'],'drop':['ALL']},'privileged':false,"                 \
	"'seLinuxOptions':{'user':'u','role':'r','type':'t','level':'l'},'windowsOptions':"        \
	"{'gmsaCredentialSpecName':'n','gmsaCredentialSpec':'s','runAsUserName':'u',"              \
	"'hostProcess':false},'runAsUser':1000,'runAsGroup':1000,'runAsNonRoot':true,"             \
	"'readOnlyRootFilesystem':true,'allowPrivilegeEscalation':false,'procMount':'Default',"    \
	"'seccompProfile':{'type':'Localhost','localhostProfile':'p.json'},'appArmorProfile':"     \
	"{'type':'Localhost','localhostProfile':'p'}}"

#define CONTAINER(name)                                                                            \
	"{'name':'" name "','image':'busybox:1','command':['sh'],'args':['-c','x'],"               \
	"'workingDir':'/w','ports':[{'name':'web','hostPort':80,'containerPort':8080,"             \
	"'protocol':'TCP','hostIP':'0.0.0.0'}],'envFrom':[{'prefix':'P_','configMapRef':"          \
	"{'name':'c','optional':true}},{'secretRef':{'name':'s','optional':false}}],'env':[{"      \
	"'name':'A','value':'1'},{'name':'B','valueFrom':{'fieldRef':{'apiVersion':'v1',"          \
	"'fieldPath':'metadata.name'}}},{'name':'C','valueFrom':{'resourceFieldRef':"              \
	"{'containerName':'x','resource':'limits.cpu','divisor':'1m'}}},{'name':'D','valueFrom':"  \
	"{'configMapKeyRef':{'name':'c','key':'k','optional':true}}},{'name':'E','valueFrom':"     \
	"{'secretKeyRef':{'name':'s','key':'k'}}}],'resources':{'limits':{'cpu':'1',"              \
	"'memory':'1Gi','nvidia.com/gpu':'1'},'requests':{'cpu':'500m'},'claims':[{'name':"        \
	"'gpu','request':'r'}]},'resizePolicy':[{'resourceName':'cpu','restartPolicy':"            \
	"'NotRequired'}],'volumeMounts':[{'name':'v','readOnly':true,'recursiveReadOnly':"         \
	"'IfPossible','mountPath':'/m','subPath':'s','mountPropagation':'None'},{'name':'w',"      \
	"'mountPath':'/n','subPathExpr':'$(POD)'}],'volumeDevices':[{'name':'b','devicePath':"     \
	"'/dev/b'}],'livenessProbe':" PROBE ",'readinessProbe':" PROBE ",'startupProbe':" PROBE    \
	",'lifecycle':{'postStart':{" HANDLER "},'preStop':{'sleep':{'seconds':5}},"               \
	"'stopSignal':'SIGTERM'},'terminationMessagePath':'/dev/termination-log',"                 \
	"'terminationMessagePolicy':'FallbackToLogsOnError','imagePullPolicy':'IfNotPresent',"     \
	"'securityContext':" SECCTX ",'stdin':true,'stdinOnce':true,'tty':true}"

#define KEYS "[{'key':'k','path':'p','mode':420}]"

#define VOLUMES                                                                                    \
	"[{'name':'hp','hostPath':{'path':'/p','type':'Directory'}},"                              \
	"{'name':'ed','emptyDir':{'medium':'Memory','sizeLimit':'1Gi'}},"                          \
	"{'name':'gce','gcePersistentDisk':{'pdName':'d','fsType':'ext4','partition':1,"           \
	"'readOnly':true}},"                                                                       \
	"{'name':'ebs','awsElasticBlockStore':{'volumeID':'v','fsType':'ext4','partition':1,"      \
	"'readOnly':true}},"                                                                       \
	"{'name':'git','gitRepo':{'repository':'r','revision':'v','directory':'.'}},"              \
	"{'name':'sec','secret':{'secretName':'s','items':" KEYS ",'defaultMode':420,"             \
	"'optional':true}},"                                                                       \
	"{'name':'nfs','nfs':{'server':'s','path':'/p','readOnly':true}},"                         \
	"{'name':'iscsi','iscsi':{'targetPortal':'t','iqn':'i','lun':0,'iscsiInterface':'default'" \
	","                                                                                        \
	"'fsType':'ext4','readOnly':true,'portals':['p'],'chapAuthDiscovery':true,"                \
	"'chapAuthSession':true,'secretRef':{'name':'s'},'initiatorName':'n'}},"                   \
	"{'name':'gl','glusterfs':{'endpoints':'e','path':'p','readOnly':true}},"                  \
	"{'name':'pvc','persistentVolumeClaim':{'claimName':'c','readOnly':true}},"                \
	"{'name':'rbd','rbd':{'monitors':['m'],'image':'i','fsType':'ext4','pool':'rbd',"          \
	"'user':'admin','keyring':'/k','secretRef':{'name':'s'},'readOnly':true}},"                \
	"{'name':'flex','flexVolume':{'driver':'d','fsType':'ext4','secretRef':{'name':'s'},"      \
	"'readOnly':true,'options':{'a':'b'}}},"                                                   \
	"{'name':'cinder','cinder':{'volumeID':'v','fsType':'ext4','readOnly':true,'secretRef':"   \
	"{'name':'s'}}},"                                                                          \
	"{'name':'ceph','cephfs':{'monitors':['m'],'path':'/','user':'u','secretFile':'f',"        \
	"'secretRef':{'name':'s'},'readOnly':true}},"                                              \
	"{'name':'flocker','flocker':{'datasetName':'d','datasetUUID':'u'}},"                      \
	"{'name':'dapi','downwardAPI':{'items':[{'path':'labels','fieldRef':{'fieldPath':"         \
	"'metadata.labels'},'resourceFieldRef':{'containerName':'c','resource':'limits.cpu',"      \
	"'divisor':'1'},'mode':420}],'defaultMode':420}},"                                         \
	"{'name':'fc','fc':{'targetWWNs':['w'],'lun':0,'fsType':'ext4','readOnly':true,"           \
	"'wwids':['x']}},"                                                                         \
	"{'name':'af','azureFile':{'secretName':'s','shareName':'sh','readOnly':true}},"           \
	"{'name':'cm','configMap':{'name':'c','items':" KEYS                                       \
	",'defaultMode':420,'optional':true}},"                                                    \
	"{'name':'vs','vsphereVolume':{'volumePath':'p','fsType':'ext4','storagePolicyName':'n',"  \
	"'storagePolicyID':'i'}},"                                                                 \
	"{'name':'qb','quobyte':{'registry':'r','volume':'v','readOnly':true,'user':'u',"          \
	"'group':'g','tenant':'t'}},"                                                              \
	"{'name':'ad','azureDisk':{'diskName':'d','diskURI':'u','cachingMode':'ReadOnly',"         \
	"'fsType':'ext4','readOnly':true,'kind':'Managed'}},"                                      \
	"{'name':'ph','photonPersistentDisk':{'pdID':'p','fsType':'ext4'}},"                       \
	"{'name':'prj','projected':{'defaultMode':420,'sources':[{'secret':{'name':'s','items'"    \
	":" KEYS                                                                                   \
	",'optional':true}},{'downwardAPI':{'items':[{'path':'n','fieldRef':{'fieldPath':"         \
	"'metadata.name'}}]}},{'configMap':{'name':'c','items':" KEYS ",'optional':true}},"        \
	"{'serviceAccountToken':{'audience':'a','expirationSeconds':3600,'path':'token'}},"        \
	"{'clusterTrustBundle':{'name':'n','signerName':'s','labelSelector':" SELECTOR ","         \
	"'optional':true,'path':'p'}},{'podCertificate':{'signerName':'s','keyType':'ED25519',"    \
	"'maxExpirationSeconds':3600,'credentialBundlePath':'b','keyPath':'k',"                    \
	"'certificateChainPath':'c','userAnnotations':{'a/b':'c'}}}]}},"                           \
	"{'name':'px','portworxVolume':{'volumeID':'v','fsType':'ext4','readOnly':true}},"         \
	"{'name':'sio','scaleIO':{'gateway':'g','system':'s','secretRef':{'name':'s'},"            \
	"'sslEnabled':true,'protectionDomain':'p','storagePool':'sp','storageMode':"               \
	"'ThinProvisioned','volumeName':'v','fsType':'xfs','readOnly':true}},"                     \
	"{'name':'sos','storageos':{'volumeName':'v','volumeNamespace':'n','fsType':'ext4',"       \
	"'readOnly':true,'secretRef':{'name':'s'}}},"                                              \
	"{'name':'csi','csi':{'driver':'d','readOnly':true,'fsType':'ext4','volumeAttributes':"    \
	"{'a':'b'},'nodePublishSecretRef':{'name':'s'}}},"                                         \
	"{'name':'eph','ephemeral':{'volumeClaimTemplate':{'metadata':{'labels':{'a':'b'}},"       \
	"'spec':{'accessModes':['ReadWriteOnce'],'selector':" SELECTOR ",'resources':{'limits':"   \
	"{'storage':'2Gi'},'requests':{'storage':'1Gi'}},'volumeName':'pv','storageClassName':"    \
	"'fast','volumeMode':'Filesystem','dataSource':{'apiGroup':'snapshot.storage.k8s.io',"     \
	"'kind':'VolumeSnapshot','name':'s'},'dataSourceRef':{'apiGroup':'g','kind':'K',"          \
	"'name':'n','namespace':'ns'},'volumeAttributesClassName':'gold'}}}},"                     \
	"{'name':'img','image':{'reference':'quay.io/x:1','pullPolicy':'IfNotPresent'}}]"

#define NODE_TERM                                                                                  \
	"{'matchExpressions':[{'key':'k','operator':'In','values':['v']}],'matchFields':[{'key':"  \
	"'metadata.name','operator':'In','values':['n']}]}"

#define POD_TERM                                                                                   \
	"{'labelSelector':" SELECTOR ",'namespaces':['a'],'topologyKey':'kubernetes.io/hostname'," \
	"'namespaceSelector':" SELECTOR ",'matchLabelKeys':['pod-template-hash'],"                 \
	"'mismatchLabelKeys':['x']}"

#define POD_SPEC                                                                                   \
	"{'volumes':" VOLUMES ",'initContainers':[" CONTAINER(                                     \
	    "init") ",{'name':'sidecar',"                                                          \
		    "'image':'s','restartPolicy':'Always','restartPolicyRules':[{'action':'"       \
		    "Restart',"                                                                    \
		    "'exitCodes':{'operator':'In','values':[42]}}]}],'containers':[" CONTAINER(    \
			"main") "],"                                                               \
				"'ephemeralContainers':[{'name':'dbg','image':'b','"               \
				"targetContainerName':'main','stdin':"                             \
				"true,'tty':true,'securityContext':{'ulimits':[{'name':'nofile','" \
				"hard':1,'soft':1}]}}],"                                           \
				"'restartPolicy':'OnFailure','terminationGracePeriodSeconds':30,"  \
				"'activeDeadlineSeconds':600,'dnsPolicy':'None','nodeSelector':{'" \
				"a':'b'},"                                                         \
				"'serviceAccountName':'sa','serviceAccount':'sa','"                \
				"automountServiceAccountToken':false,"                             \
				"'nodeName':'n','hostNetwork':false,'hostPID':false,'hostIPC':"    \
				"false,"                                                           \
				"'shareProcessNamespace':true,'securityContext':{'seLinuxOptions'" \
				":{'level':'s0'},"                                                 \
				"'windowsOptions':{'runAsUserName':'u'},'runAsUser':1,'"           \
				"runAsGroup':1,'runAsNonRoot':"                                    \
				"true,'supplementalGroups':[1,2],'supplementalGroupsPolicy':'"     \
				"Strict','fsGroup':1,"                                             \
				"'sysctls':[{'name':'net.core.somaxconn','value':'1024'}],'"       \
				"fsGroupChangePolicy':"                                            \
				"'OnRootMismatch','seccompProfile':{'type':'RuntimeDefault'},'"    \
				"appArmorProfile':{'type':"                                        \
				"'RuntimeDefault'},'seLinuxChangePolicy':'MountOption'},'"         \
				"imagePullSecrets':[{'name':"                                      \
				"'reg'}],'hostname':'h','subdomain':'s','affinity':{'"             \
				"nodeAffinity':{"                                                  \
				"'requiredDuringSchedulingIgnoredDuringExecution':{'"              \
				"nodeSelectorTerms':[" NODE_TERM "]},"                             \
				"'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':1,'" \
				"preference':" NODE_TERM "}]},'podAffinity':{'"                    \
				"requiredDuringSchedulingIgnoredDuringExecution':[" POD_TERM "],"  \
				"'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':10," \
				"'podAffinityTerm':" POD_TERM "}]},'podAntiAffinity':{'"           \
				"requiredDuringSchedulingIgnoredDuringExecution':[" POD_TERM       \
				"],'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':"  \
				"1,"                                                               \
				"'podAffinityTerm':" POD_TERM                                      \
				"}]}},'schedulerName':'wharf','tolerations':[{'key':"              \
				"'nvidia.com/"                                                     \
				"gpu','operator':'Exists','value':'','effect':'NoExecute',"        \
				"'tolerationSeconds':30}],'hostAliases':[{'ip':'10.0.0.1','"       \
				"hostnames':['a']}],"                                              \
				"'priorityClassName':'high','priority':1000,'dnsConfig':{'"        \
				"nameservers':['1.1.1.1'],"                                        \
				"'searches':['s'],'options':[{'name':'ndots','value':'2'}]},'"     \
				"readinessGates':"                                                 \
				"[{'conditionType':'x/"                                            \
				"ready'}],'runtimeClassName':'nvidia','enableServiceLinks':false," \
				"'preemptionPolicy':'Never','overhead':{'cpu':'10m'},'"            \
				"topologySpreadConstraints':[{"                                    \
				"'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':'"           \
				"DoNotSchedule','labelSelector':" SELECTOR                         \
				",'minDomains':2,'nodeAffinityPolicy':'Honor','nodeTaintsPolicy':" \
				"'Ignore',"                                                        \
				"'matchLabelKeys':['pod-template-hash']}],'setHostnameAsFQDN':"    \
				"false,'os':{'name':"                                              \
				"'linux'},'hostUsers':false,'schedulingGates':[{'name':'wait'}],'" \
				"resourceClaims':[{"                                               \
				"'name':'gpu','resourceClaimName':'c'},{'name':'t','"              \
				"resourceClaimTemplateName':'t'}],"                                \
				"'resources':{'limits':{'cpu':'2'}},'hostnameOverride':'h2','"     \
				"workloadRef':{'name':'w',"                                        \
				"'podGroup':'g','podGroupReplicaKey':'0'}}"

#define CSTATE                                                                                     \
	"{'waiting':{'reason':'r','message':'m'},'running':{'startedAt':'2024-01-01T00:00:00Z'},"  \
	"'terminated':{'exitCode':0,'signal':9,'reason':'r','message':'m','startedAt':"            \
	"'2024-01-01T00:00:00Z','finishedAt':'2024-01-01T00:00:00Z','containerID':'c'}}"

#define CSTATUS                                                                                    \
	"{'name':'main','state':" CSTATE ",'lastState':" CSTATE ",'ready':true,'restartCount':1,"  \
	"'image':'i','imageID':'id','containerID':'c','started':true,'allocatedResources':"        \
	"{'cpu':'1'},'resources':{'limits':{'cpu':'1'}},'volumeMounts':[{'name':'v','mountPath':"  \
	"'/m','readOnly':true,'recursiveReadOnly':'Enabled','volumeStatus':{'image':{'imageRef':"  \
	"'sha256:x'}}}],'user':{'linux':{'uid':1,'gid':1,'supplementalGroups':[1]}},"              \
	"'allocatedResourcesStatus':[{'name':'claim:gpu/r','resources':[{'resourceID':'0',"        \
	"'health':'Healthy','message':'ok'}]}],'stopSignal':'SIGTERM'}"

#define POD_STATUS                                                                                 \
	"{'observedGeneration':1,'phase':'Running','conditions':[{'type':'Ready',"                 \
	"'observedGeneration':1,'status':'True','lastProbeTime':null,'lastTransitionTime':"        \
	"'2024-01-01T00:00:00Z','reason':'r','message':'m'}],'message':'m','reason':'r',"          \
	"'nominatedNodeName':'n','hostIP':'10.0.0.1','hostIPs':[{'ip':'10.0.0.1'}],'podIP':"       \
	"'10.1.0.1','podIPs':[{'ip':'10.1.0.1'}],'startTime':'2024-01-01T00:00:00Z',"              \
	"'initContainerStatuses':[" CSTATUS "],'containerStatuses':[" CSTATUS "],'qosClass':"      \
	"'Burstable','ephemeralContainerStatuses':[" CSTATUS "],'resize':'InProgress',"            \
	"'resourceClaimStatuses':[{'name':'gpu','resourceClaimName':'c'}],"                        \
	"'extendedResourceClaimStatus':{'requestMappings':[{'containerName':'main',"               \
	"'resourceName':'example.com/gpu','requestName':'r'}],'resourceClaimName':'x'},"           \
	"'allocatedResources':{'cpu':'1'},'resources':{'requests':{'cpu':'1'}}}"

static void test_complete_pod(void **state)
{
	(void)state;
	EXPECT_NONE("v1", "Pod",
		    "{'apiVersion':'v1','kind':'Pod','metadata':" OBJMETA ",'spec':" POD_SPEC
		    ",'status':" POD_STATUS "}");
	EXPECT_NONE(
	    "v1", "Binding",
	    "{'apiVersion':'v1','kind':'Binding','metadata':" OBJMETA ",'target':{'kind':"
	    "'Node','namespace':'','name':'n','uid':'u','apiVersion':'v1','resourceVersion':"
	    "'1','fieldPath':'f'}}");
}

static void test_complete_job(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "batch/v1", "Job",
	    "{'apiVersion':'batch/v1','kind':'Job','metadata':" OBJMETA ",'spec':{'parallelism':2,"
	    "'completions':4,'activeDeadlineSeconds':3600,'podFailurePolicy':{'rules':[{'action':"
	    "'FailJob','onExitCodes':{'containerName':'main','operator':'In','values':[42]}},"
	    "{'action':'Ignore','onPodConditions':[{'type':'DisruptionTarget','status':'True'}]}]},"
	    "'successPolicy':{'rules':[{'succeededIndexes':'0-2','succeededCount':2}]},"
	    "'backoffLimit':6,'backoffLimitPerIndex':1,'maxFailedIndexes':2,'selector':" SELECTOR
	    ",'manualSelector':false,'template':{'metadata':" OBJMETA ",'spec':" POD_SPEC "},"
	    "'ttlSecondsAfterFinished':100,'completionMode':'Indexed','suspend':false,"
	    "'podReplacementPolicy':'Failed','managedBy':'kueue.x-k8s.io/multikueue'},'status':{"
	    "'conditions':[{'type':'Complete','status':'True','lastProbeTime':"
	    "'2024-01-01T00:00:00Z','lastTransitionTime':'2024-01-01T00:00:00Z','reason':'r',"
	    "'message':'m'}],'startTime':'2024-01-01T00:00:00Z','completionTime':"
	    "'2024-01-01T00:00:00Z','active':1,'succeeded':1,'failed':1,'terminating':0,"
	    "'completedIndexes':'0-1','failedIndexes':'3','uncountedTerminatedPods':{'succeeded':"
	    "['u'],'failed':['v']},'ready':1}}");
}

static void test_complete_service(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "v1", "Service",
	    "{'apiVersion':'v1','kind':'Service','metadata':" OBJMETA ",'spec':{'ports':[{"
	    "'name':'http','protocol':'TCP','appProtocol':'http','port':80,'targetPort':8080,"
	    "'nodePort':30080}],'selector':{'app':'a'},'clusterIP':'10.96.0.10','clusterIPs':"
	    "['10.96.0.10'],'type':'LoadBalancer','externalIPs':['1.2.3.4'],"
	    "'sessionAffinity':'ClientIP','loadBalancerIP':'1.2.3.5',"
	    "'loadBalancerSourceRanges':['0.0.0.0/0'],'externalName':'x.example.com',"
	    "'externalTrafficPolicy':'Local','healthCheckNodePort':30000,"
	    "'publishNotReadyAddresses':true,'sessionAffinityConfig':{'clientIP':"
	    "{'timeoutSeconds':10800}},'ipFamilies':['IPv4'],'ipFamilyPolicy':'SingleStack',"
	    "'allocateLoadBalancerNodePorts':true,'loadBalancerClass':'x/lb',"
	    "'internalTrafficPolicy':'Cluster','trafficDistribution':'PreferClose'},"
	    "'status':{'loadBalancer':{'ingress':[{'ip':'1.2.3.5','hostname':'h','ipMode':"
	    "'VIP','ports':[{'port':80,'protocol':'TCP','error':'e'}]}]},'conditions':[{"
	    "'type':'Ready','status':'True','observedGeneration':1,'lastTransitionTime':"
	    "'2024-01-01T00:00:00Z','reason':'R','message':'m'}]}}");
}

static void test_complete_node(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "v1", "Node",
	    "{'apiVersion':'v1','kind':'Node','metadata':" OBJMETA ",'spec':{'podCIDR':"
	    "'10.244.0.0/24','podCIDRs':['10.244.0.0/24'],'providerID':'p://"
	    "1','unschedulable':true,"
	    "'taints':[{'key':'nvidia.com/gpu','value':'present','effect':'NoSchedule','timeAdded':"
	    "'2024-01-01T00:00:00Z'}],'configSource':{'configMap':{'namespace':'kube-system','name'"
	    ":"
	    "'c','uid':'u','resourceVersion':'1','kubeletConfigKey':'k'}},'externalID':'e'},"
	    "'status':{'capacity':{'cpu':'8'},'allocatable':{'cpu':'7'},'phase':'Running',"
	    "'conditions':[{'type':'Ready','status':'True','lastHeartbeatTime':"
	    "'2024-01-01T00:00:00Z','lastTransitionTime':'2024-01-01T00:00:00Z','reason':'r',"
	    "'message':'m'}],'addresses':[{'type':'InternalIP','address':'10.0.0.1'}],"
	    "'daemonEndpoints':{'kubeletEndpoint':{'Port':10250}},'nodeInfo':{'machineID':'m',"
	    "'systemUUID':'s','bootID':'b','kernelVersion':'6','osImage':'o',"
	    "'containerRuntimeVersion':'c','kubeletVersion':'v','kubeProxyVersion':'v',"
	    "'operatingSystem':'linux','architecture':'amd64','swap':{'capacity':0}},'images':[{"
	    "'names':['n'],'sizeBytes':1}],'volumesInUse':['v'],'volumesAttached':[{'name':'v',"
	    "'devicePath':'/d'}],'config':{'assigned':{'configMap':{'name':'c'}},'active':{},"
	    "'lastKnownGood':{},'error':'e'},'runtimeHandlers':[{'name':'runc','features':{"
	    "'recursiveReadOnlyMounts':true,'userNamespaces':true}}],'features':{"
	    "'supplementalGroupsPolicy':true,'containerUlimits':false},'declaredFeatures':['x']}}");
}

static void test_complete_other_kinds(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "v1", "Event",
	    "{'apiVersion':'v1','kind':'Event','metadata':" OBJMETA ",'involvedObject':{"
	    "'kind':'Pod','namespace':'d','name':'p','uid':'u','apiVersion':'v1',"
	    "'resourceVersion':'1','fieldPath':'spec.containers{main}'},'reason':'Pulled',"
	    "'message':'m','source':{'component':'kubelet','host':'n'},'firstTimestamp':"
	    "'2024-01-01T00:00:00Z','lastTimestamp':'2024-01-01T00:00:00Z','count':2,'type':"
	    "'Normal','eventTime':'2024-01-01T00:00:00.000000Z','series':{'count':2,"
	    "'lastObservedTime':'2024-01-01T00:00:00.000000Z'},'action':'Binding','related':"
	    "{'kind':'Node','name':'n'},'reportingComponent':'wharf','reportingInstance':'w'}");
	EXPECT_NONE(
	    "coordination.k8s.io/v1", "Lease",
	    "{'apiVersion':'coordination.k8s.io/v1','kind':'Lease','metadata':" OBJMETA
	    ",'spec':{'holderIdentity':'n','leaseDurationSeconds':40,'acquireTime':"
	    "'2024-01-01T00:00:00.000000Z','renewTime':'2024-01-01T00:00:00.000000Z',"
	    "'leaseTransitions':1,'strategy':'OldestEmulationVersion','preferredHolder':'p'}}");
	EXPECT_NONE("v1", "Namespace",
		    "{'apiVersion':'v1','kind':'Namespace','metadata':" OBJMETA ",'spec':{"
		    "'finalizers':['kubernetes']},'status':{'phase':'Active','conditions':[{'type':"
		    "'NamespaceDeletionContentFailure','status':'False','lastTransitionTime':"
		    "'2024-01-01T00:00:00Z','reason':'r','message':'m'}]}}");
	EXPECT_NONE("v1", "ConfigMap",
		    "{'apiVersion':'v1','kind':'ConfigMap','metadata':" OBJMETA ",'immutable':true,"
		    "'data':{'a':'b'},'binaryData':{'c':'AAAA'}}");
	EXPECT_NONE("v1", "Secret",
		    "{'apiVersion':'v1','kind':'Secret','metadata':" OBJMETA ",'immutable':false,"
		    "'data':{'a':'YQ=='},'stringData':{'b':'c'},'type':'kubernetes.io/tls'}");
	EXPECT_NONE("v1", "ServiceAccount",
		    "{'apiVersion':'v1','kind':'ServiceAccount','metadata':" OBJMETA ",'secrets':[{"
		    "'name':'s','namespace':'d'}],'imagePullSecrets':[{'name':'r'}],"
		    "'automountServiceAccountToken':false}");
}

/* What kubectl itself sends: `kubectl run` and `kubectl create job`
 * output, client-side apply's annotation, creationTimestamp: null. */
static void test_kubectl_generated(void **state)
{
	(void)state;
	EXPECT_NONE(
	    "v1", "Pod",
	    "{'kind':'Pod','apiVersion':'v1','metadata':{'name':'nginx','creationTimestamp':"
	    "null,'labels':{'run':'nginx'},'annotations':{'kubectl.kubernetes.io/"
	    "last-applied-configuration':'{}\\n'}},'spec':{'containers':[{'name':'nginx',"
	    "'image':'nginx','resources':{}}],'restartPolicy':'Always','dnsPolicy':"
	    "'ClusterFirst'},'status':{}}");
	EXPECT_NONE(
	    "batch/v1", "Job",
	    "{'kind':'Job','apiVersion':'batch/v1','metadata':{'name':'j','creationTimestamp':"
	    "null},'spec':{'template':{'metadata':{'creationTimestamp':null},'spec':{"
	    "'containers':[{'name':'j','image':'busybox','resources':{}}],'restartPolicy':"
	    "'Never'}}},'status':{}}");
}

/* ---- the same tables decode protobuf ------------------------------------------- */

/* Protobuf length-delimited field `num` holding n bytes of p, appended to b. */
static void pb_len(wf_buf *b, unsigned num, const void *p, size_t n)
{
	unsigned char hdr[12];
	size_t h = 0;
	for (uint64_t v = (uint64_t)num << 3 | 2;; v >>= 7) {
		hdr[h++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	for (uint64_t v = n;; v >>= 7) {
		hdr[h++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	wf_buf_append(b, hdr, h);
	wf_buf_append(b, p, n);
}

/* Wrap b as field num of a new message: b becomes that message. */
static void pb_wrap(wf_buf *b, unsigned num)
{
	wf_buf o;
	wf_buf_init(&o);
	pb_len(&o, num, b->data, b->len);
	wf_buf_free(b);
	*b = o;
}

static void test_protobuf_new_sources(void **state)
{
	(void)state;
	/* Pod{spec{volumes[{name, ephemeral{volumeClaimTemplate{spec{
	 * accessModes, resources{requests{storage: 1Gi}}}}}}]}} */
	wf_buf q, entry, b;
	wf_buf_init(&q);
	wf_buf_init(&entry);
	wf_buf_init(&b);
	pb_len(&q, 1, "1Gi", 3);
	pb_len(&entry, 1, "storage", 7);
	pb_len(&entry, 2, q.data, q.len);
	pb_len(&b, 2, entry.data, entry.len); /* requests */
	pb_wrap(&b, 2);			      /* PersistentVolumeClaimSpec.resources */
	pb_len(&b, 1, "ReadWriteOnce", 13);   /* accessModes */
	pb_wrap(&b, 2);			      /* template.spec */
	pb_wrap(&b, 1);			      /* volumeClaimTemplate */
	pb_wrap(&b, 29);		      /* VolumeSource.ephemeral */
	pb_wrap(&b, 2);			      /* Volume.volumeSource (inline) */
	pb_len(&b, 1, "v", 1);
	pb_wrap(&b, 1); /* PodSpec.volumes */
	wf_buf c;
	wf_buf_init(&c);
	pb_len(&c, 1, "nofile", 6); /* Ulimit{name} */
	pb_wrap(&c, 13);	    /* SecurityContext.ulimits */
	pb_wrap(&c, 15);	    /* Container.securityContext */
	pb_len(&c, 1, "main", 4);
	pb_len(&b, 2, c.data, c.len); /* PodSpec.containers */
	pb_wrap(&b, 2);		      /* Pod.spec */
	json_t *out = NULL;
	wf_err err = {0};
	assert_int_equal(wf_pb_decode_message(schema("v1", "Pod"), b.data, b.len, &out, &err), 0);
	json_t *want =
	    parse("{'spec':{'volumes':[{'name':'v','ephemeral':{'volumeClaimTemplate':{"
		  "'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{"
		  "'storage':'1Gi'}}}}}}],'containers':[{'name':'main','securityContext':"
		  "{'ulimits':[{'name':'nofile'}]}}]}}");
	if (!json_equal(out, want)) {
		char *s = json_dumps(out, JSON_SORT_KEYS);
		fail_msg("decoded %s", s);
	}
	/* and what protobuf produced is all known to field validation */
	wf_fv_list l = {0};
	wf_fv_unknown_fields(schema("v1", "Pod"), out, &l);
	assert_int_equal(l.n, 0);
	json_decref(want);
	json_decref(out);
	wf_buf_free(&q);
	wf_buf_free(&entry);
	wf_buf_free(&b);
	wf_buf_free(&c);
}

/* ---- duplicates ------------------------------------------------------------------ */

static void test_duplicates(void **state)
{
	(void)state;
	DUPS_NONE("{'a':1,'b':{'a':2},'c':[{'a':1},{'a':2}]}");
	DUPS("{'a':1,'a':2}", "a");
	DUPS("{'metadata':{'name':'x','labels':{'k':'1','k':'2'},'name':'y'}}", "metadata.labels.k",
	     "metadata.name");
	DUPS("{'spec':{'containers':[{'name':'a'},{'name':'b','image':'i','image':'j'}]}}",
	     "spec.containers[1].image");
	/* every repetition after the first */
	DUPS("{'a':1,'a':2,'a':3}", "a", "a");
	/* keys are compared decoded */
	DUPS("{'a':1,'\\u0061':2}", "a");
	DUPS("{'\\ud83d\\ude00':1,'\xf0\x9f\x98\x80':2}", "\xf0\x9f\x98\x80");
	DUPS("{'q\\\"':1,'q\\u0022':2,'t\\t':1,'t\\u0009':2,'s\\/':1,'s/':2}", "q\"", "t\t", "s/");
	/* nested arrays, whitespace, scalars of every kind */
	DUPS(" [ [ {'x' : true , 'y':false,'z':null,'n':-1.5e+3,'x':'s'} ] , 1 ] ", "[0][0].x");
	/* empty containers */
	DUPS_NONE("{}");
	DUPS_NONE("[]");
	DUPS_NONE("{'a':{},'b':[]}");
}

static void test_duplicates_hostile(void **state)
{
	(void)state;
	/* malformed or truncated text: what was found so far, no crash, no
	 * read past the end */
	static const char *const bad[] = {
	    "",	   "{",		 "{'a'",	  "{'a':",     "{'a':1,'a'", "{'a':1,'a':",
	    "[1,", "{'a' 1}",	 "{'\\u12'}",	  "{'\\q':1}", "'abc",	     "{'a':1}}}",
	    "}",   "{'a':[1,2}", "{'a':1 'b':2}", "nul",       "{:1}",	     "{'a':1,}",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		char *t = dq(bad[i]);
		wf_fv_list l = {0};
		wf_fv_duplicate_fields(t, strlen(t), &l);
		wf_fv_list_free(&l);
		free(t);
	}
	wf_fv_list l = {0};
	wf_fv_duplicate_fields(NULL, 10, &l);
	assert_int_equal(l.n, 0);
	/* a repeated key found before the text breaks off is still reported */
	char *t = dq("{'a':1,'a':2,'b':");
	wf_fv_duplicate_fields(t, strlen(t), &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].path, "a");
	wf_fv_list_free(&l);
	free(t);
	/* a length shorter than the text is respected */
	t = dq("{'a':1,'a':2}");
	wf_fv_duplicate_fields(t, 7, &l);
	assert_int_equal(l.n, 0);
	free(t);

	/* many distinct keys (a set, not a quadratic scan), and many repeats:
	 * at most WF_FV_MAX_PROBLEMS kept, the rest counted */
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_putc(&b, '{');
	for (int i = 0; i < 50000; i++)
		wf_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
	for (int i = 0; i < 150; i++)
		wf_buf_printf(&b, ",\"k%d\":0", i);
	wf_buf_putc(&b, '}');
	wf_fv_duplicate_fields(b.data, b.len, &l);
	assert_int_equal(l.n, WF_FV_MAX_PROBLEMS);
	assert_int_equal(l.dropped, 50);
	assert_string_equal(l.v[0].path, "k0");
	assert_string_equal(l.v[99].path, "k99");
	wf_fv_list_free(&l);
	wf_buf_free(&b);

	/* deep nesting, as deep as the JSON parser allows */
	wf_buf_init(&b);
	for (int i = 0; i < 2000; i++)
		wf_buf_puts(&b, "{\"a\":");
	wf_buf_puts(&b, "{\"x\":1,\"x\":2}");
	for (int i = 0; i < 2000; i++)
		wf_buf_putc(&b, '}');
	wf_fv_duplicate_fields(b.data, b.len, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(strlen(l.v[0].path), WF_FV_MAX_PATH + 3);
	wf_fv_list_free(&l);
	wf_buf_free(&b);
}

/* ---- limits ------------------------------------------------------------------------ */

static void test_limits(void **state)
{
	(void)state;
	/* more unknown fields than are kept */
	wf_buf b;
	wf_buf_init(&b);
	wf_buf_puts(&b, "{\"spec\":{\"containers\":[");
	for (int i = 0; i < 130; i++)
		wf_buf_printf(&b, "%s{\"name\":\"c%d\",\"bogus\":1}", i ? "," : "", i);
	wf_buf_puts(&b, "]}}");
	json_error_t je;
	json_t *o = json_loads(b.data, 0, &je);
	assert_non_null(o);
	wf_fv_list l = {0};
	wf_fv_unknown_fields(schema("v1", "Pod"), o, &l);
	assert_int_equal(l.n, WF_FV_MAX_PROBLEMS);
	assert_int_equal(l.dropped, 30);
	assert_string_equal(l.v[99].path, "spec.containers[99].bogus");
	wf_fv_list_free(&l);
	json_decref(o);
	wf_buf_free(&b);

	/* a huge key is cut, on a UTF-8 boundary, with "..." */
	wf_buf_init(&b);
	wf_buf_puts(&b, "x");
	for (int i = 0; i < 5000; i++)
		wf_buf_puts(&b, "\xc3\xa9"); /* é, two bytes */
	o = json_object();
	json_object_set_new(o, b.data, json_integer(1));
	wf_fv_unknown_fields(schema("v1", "Pod"), o, &l);
	assert_int_equal(l.n, 1);
	size_t len = strlen(l.v[0].path);
	assert_true(len <= WF_FV_MAX_PATH + 3);
	assert_string_equal(l.v[0].path + len - 3, "...");
	assert_int_equal((len - 3 - 1) % 2, 0); /* whole characters only */
	assert_memory_equal(l.v[0].path, b.data, len - 3);
	wf_fv_list_free(&l);
	json_decref(o);
	wf_buf_free(&b);
}

static void test_subtract(void **state)
{
	(void)state;
	wf_fv_list l = {0}, known = {0};
	wf_fv_list_add(&l, WF_FV_UNKNOWN, "spec.a");
	wf_fv_list_add(&l, WF_FV_DUPLICATE, "spec.b");
	wf_fv_list_add(&l, WF_FV_UNKNOWN, "spec.b");
	wf_fv_list_add(&l, WF_FV_UNKNOWN, "spec.c");
	wf_fv_list_add(&known, WF_FV_UNKNOWN, "spec.b");
	wf_fv_list_add(&known, WF_FV_UNKNOWN, "spec.z");
	wf_fv_list_subtract(&l, &known);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].path, "spec.a");
	assert_int_equal(l.v[1].kind, WF_FV_DUPLICATE); /* duplicates always stay */
	assert_string_equal(l.v[2].path, "spec.c");
	wf_fv_list_free(&l);
	wf_fv_list_subtract(&l, &known);
	assert_int_equal(l.n, 0);
	wf_fv_list_free(&known);

	/* patching: only what the patch brought in counts */
	json_t *old = parse("{'spec':{'x':1,'containers':[{'name':'a','y':1}]}}");
	json_t *neu = parse("{'spec':{'x':2,'z':3,'containers':[{'name':'a','y':1,'w':1}]}}");
	wf_fv_unknown_fields(schema("v1", "Pod"), neu, &l);
	wf_fv_unknown_fields(schema("v1", "Pod"), old, &known);
	wf_fv_list_subtract(&l, &known);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].path, "spec.z");
	assert_string_equal(l.v[1].path, "spec.containers[0].w");
	wf_fv_list_free(&l);
	wf_fv_list_free(&known);
	json_decref(old);
	json_decref(neu);
}

/* ---- directive and messages ----------------------------------------------------- */

static void test_directive(void **state)
{
	(void)state;
	wf_fv_directive d = WF_FV_IGNORE;
	assert_int_equal(wf_fv_parse_directive(NULL, &d, NULL), 0);
	assert_int_equal(d, WF_FV_WARN);
	d = WF_FV_IGNORE;
	assert_int_equal(wf_fv_parse_directive("", &d, NULL), 0);
	assert_int_equal(d, WF_FV_WARN);
	assert_int_equal(wf_fv_parse_directive("Strict", &d, NULL), 0);
	assert_int_equal(d, WF_FV_STRICT);
	assert_int_equal(wf_fv_parse_directive("Ignore", &d, NULL), 0);
	assert_int_equal(d, WF_FV_IGNORE);
	assert_int_equal(wf_fv_parse_directive("Warn", &d, NULL), 0);
	assert_int_equal(d, WF_FV_WARN);
	static const char *const bad[] = {"strict", "STRICT", "Strict ",
					  "true",   "0",      "Warn,Strict"};
	for (size_t i = 0; i < NELEM(bad); i++) {
		wf_err err = {0};
		d = WF_FV_IGNORE;
		assert_int_equal(wf_fv_parse_directive(bad[i], &d, &err), -WF_EINVAL);
		assert_int_equal(d, WF_FV_IGNORE);
		assert_int_equal(err.code, WF_EINVAL);
		assert_non_null(strstr(err.msg, "supported values: \"\", \"Ignore\", \"Strict\", "
						"\"Warn\""));
	}
	wf_err err = {0};
	assert_int_equal(wf_fv_parse_directive("x\"\n", &d, &err), -WF_EINVAL);
	assert_string_equal(err.msg, "Unsupported value: \"x\\\"\\n\": supported values: \"\", "
				     "\"Ignore\", \"Strict\", \"Warn\"");
	/* a huge value is cut, the message stays within its buffer */
	char *huge = wf_xmalloc(100001);
	memset(huge, 'S', 100000);
	huge[100000] = '\0';
	assert_int_equal(wf_fv_parse_directive(huge, &d, &err), -WF_EINVAL);
	assert_true(strlen(err.msg) < sizeof err.msg);
	free(huge);
}

static void test_messages(void **state)
{
	(void)state;
	wf_fv_problem p = {WF_FV_UNKNOWN, "spec.containers[0].bogusField"};
	char *t = wf_fv_problem_text(&p);
	assert_string_equal(t, "unknown field \"spec.containers[0].bogusField\"");
	char *w = wf_fv_warning_value(t);
	assert_string_equal(w, "299 - \"unknown field \\\"spec.containers[0].bogusField\\\"\"");
	free(w);
	free(t);
	/* Go's %q for the path: quotes, backslashes and control characters */
	wf_fv_problem q = {WF_FV_DUPLICATE, "a\"b\\c\nd\te\x01\x7f\xc3\xa9"};
	t = wf_fv_problem_text(&q);
	assert_string_equal(t, "duplicate field \"a\\\"b\\\\c\\nd\\te\\x01\\x7f\xc3\xa9\"");
	free(t);
	/* the header value never carries a raw control character */
	w = wf_fv_warning_value("a\r\nb\"c\\");
	assert_string_equal(w, "299 - \"a  b\\\"c\\\\\"");
	free(w);

	wf_fv_list l = {0};
	char *m = wf_fv_strict_message(&l);
	assert_string_equal(m, "strict decoding error: ");
	free(m);
	wf_fv_list_add(&l, WF_FV_DUPLICATE, "metadata.name");
	wf_fv_list_add(&l, WF_FV_UNKNOWN, "spec.foo");
	wf_fv_list_add(&l, WF_FV_UNKNOWN, "spec.bar");
	m = wf_fv_strict_message(&l);
	assert_string_equal(m, "strict decoding error: duplicate field \"metadata.name\", unknown "
			       "field \"spec.foo\", unknown field \"spec.bar\"");
	free(m);
	wf_fv_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_maps_are_free_form),
	    cmocka_unit_test(test_inline_structs),
	    cmocka_unit_test(test_leaves_and_wrong_types),
	    cmocka_unit_test(test_no_schema_and_non_objects),
	    cmocka_unit_test(test_complete_pod),
	    cmocka_unit_test(test_complete_job),
	    cmocka_unit_test(test_complete_service),
	    cmocka_unit_test(test_complete_node),
	    cmocka_unit_test(test_complete_other_kinds),
	    cmocka_unit_test(test_kubectl_generated),
	    cmocka_unit_test(test_protobuf_new_sources),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_duplicates_hostile),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_subtract),
	    cmocka_unit_test(test_directive),
	    cmocka_unit_test(test_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
