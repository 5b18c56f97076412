// A JSON value that may also be null (TypeBox has no such type of its own).
import { type SchemaOptions, type TSchema, Type } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(schema: T, options?: SchemaOptions) =>
  Type.Union([schema, Type.Null()], options);
