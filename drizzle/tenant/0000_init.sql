CREATE TABLE `document_tags` (
	`tag` text NOT NULL,
	`doc_seq` integer NOT NULL,
	PRIMARY KEY(`tag`, `doc_seq`),
	FOREIGN KEY (`doc_seq`) REFERENCES `documents`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `document_tags_doc_idx` ON `document_tags` (`doc_seq`);--> statement-breakpoint
CREATE TABLE `documents` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`title` text NOT NULL,
	`content` text NOT NULL,
	`tags` text NOT NULL,
	`version` integer NOT NULL,
	`bytes` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `documents_id_unique` ON `documents` (`id`);