CREATE TABLE "deploy_leases" (
	"tenant_id" text NOT NULL,
	"app" text NOT NULL,
	"holder" text NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "deploy_leases_tenant_id_app_pk" PRIMARY KEY("tenant_id","app")
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "source" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "commit_sha" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "config" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "deploy_leases" ADD CONSTRAINT "deploy_leases_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deploy_leases_expires" ON "deploy_leases" USING btree ("expires_at");