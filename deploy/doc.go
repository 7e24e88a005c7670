// Package deploy holds no production code: its tests prove the deployment
// artifacts around it. There is no container engine on the machines this
// project is built on, so docker-compose.yml, the Dockerfile and the
// Kubernetes manifests are checked by parsing them with the loaders their
// tools use (compose-spec/compose-go, BuildKit's Dockerfile parser, the
// Kubernetes API types, decoded strictly), and by running the real binaries
// with exactly the environment compose gives each service. The cmd/healthprobe
// command is the images' HEALTHCHECK.
package deploy
