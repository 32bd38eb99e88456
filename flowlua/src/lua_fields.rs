//! A value's serde form as Lua values: a struct (or a map, which is how serde writes a struct
//! with flattened fields) becomes its fields' names and Lua values, in order. This is how the
//! Lua tables follow [`FlowRecord`](ndpi::FlowRecord)'s one schema: a field added to the record
//! appears in Lua under its serde name, with no list kept here.
//!
//! Scalars map to Lua's types (integers that do not fit Lua's become floats), `None` to nil,
//! enums to their serde names, sequences to Lua sequences. Nested structs and maps are left out:
//! the L7 objects have their own `flow.*` functions.

use std::borrow::Cow;
use std::fmt;

use mlua::{Lua, Value};
use serde::ser::{self, Impossible, Serialize};

/// A field's name: the struct's own `&'static str`, or a map's key.
pub(crate) type Key = Cow<'static, str>;

/// The fields of one value, names and Lua values in the same order.
pub(crate) struct Fields {
    pub keys: Vec<Key>,
    pub values: Vec<Value>,
}

impl Fields {
    /// The value of field `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let at = self.keys.iter().position(|k| k == key)?;
        self.values.get(at)
    }

    pub fn push(&mut self, key: impl Into<Key>, value: Value) {
        self.keys.push(key.into());
        self.values.push(value);
    }
}

/// The fields of `value`, which must serialize as a struct or a map.
pub(crate) fn fields(lua: &Lua, value: &impl Serialize) -> mlua::Result<Fields> {
    let mut fields = Fields {
        keys: Vec::with_capacity(32),
        values: Vec::with_capacity(32),
    };
    value
        .serialize(Top {
            lua,
            out: &mut fields,
        })
        .map_err(|e| mlua::Error::runtime(format!("flowlua: {e}")))?;
    Ok(fields)
}

/// Why a value could not be made Lua: a shape this module does not take, or a Lua error.
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<mlua::Error> for Error {
    fn from(e: mlua::Error) -> Self {
        Error(e.to_string())
    }
}

type Result<T> = std::result::Result<T, Error>;

fn refuse<T>(what: &str) -> Result<T> {
    Err(Error(format!("{what} cannot become a Lua field table")))
}

/// The `Serializer` methods for shapes a serializer does not take: sequences,
macro_rules! refuse_sequences {
    () => {
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
            refuse("a sequence")
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
            refuse("a tuple")
        }
    };
}

/// ... tuple structs and enums with data,
macro_rules! refuse_variants {
    ($ok:ty) => {
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct> {
            refuse("a tuple struct")
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant> {
            refuse("an enum with data")
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant> {
            refuse("an enum with data")
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok> {
            refuse("an enum with data")
        }
    };
}

/// ... scalars,
macro_rules! refuse_scalars {
    ($ok:ty) => {
        refuse_scalars!($ok; serialize_bool: bool, serialize_i8: i8, serialize_i16: i16,
            serialize_i32: i32, serialize_i64: i64, serialize_u8: u8, serialize_u16: u16,
            serialize_u32: u32, serialize_u64: u64, serialize_f32: f32, serialize_f64: f64,
            serialize_char: char, serialize_bytes: &[u8]);
        fn serialize_none(self) -> Result<$ok> {
            refuse("None")
        }
        fn serialize_unit(self) -> Result<$ok> {
            refuse("()")
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<$ok> {
            refuse("a unit struct")
        }
    };
    ($ok:ty; $($method:ident: $arg:ty),*) => {
        $(fn $method(self, _: $arg) -> Result<$ok> {
            refuse(stringify!($arg))
        })*
    };
}

/// ... and the generic ones that wrap a value.
macro_rules! refuse_generic {
    ($ok:ty) => {
        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<$ok> {
            refuse("Some")
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<$ok> {
            refuse("a newtype")
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
            refuse("a map")
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
            refuse("a struct")
        }
    };
}

/// The outer value: a struct or a map, whose fields go to `out`.
struct Top<'a> {
    lua: &'a Lua,
    out: &'a mut Fields,
}

/// Turns one field's value into a Lua value; `None` leaves the field out.
#[derive(Clone, Copy)]
struct Field<'a> {
    lua: &'a Lua,
}

impl Field<'_> {
    fn put(&self, value: &(impl Serialize + ?Sized)) -> Result<Option<Value>> {
        value.serialize(*self)
    }
}

/// A map key, as a string.
struct KeyName;

/// Skips a nested struct or map without looking at its fields.
struct Skip;

/// A sequence's items.
struct Items<'a> {
    field: Field<'a>,
    items: Vec<Value>,
}

impl<'a> ser::Serializer for Top<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = TopMap<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self> {
        Ok(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<TopMap<'a>> {
        Ok(TopMap {
            top: self,
            key: None,
        })
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_str(self, _: &str) -> Result<()> {
        refuse("a string")
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<()> {
        refuse("an enum")
    }

    refuse_sequences!();
    refuse_variants!(());
    refuse_scalars!(());
}

impl ser::SerializeStruct for Top<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        if let Some(value) = (Field { lua: self.lua }).put(value)? {
            self.out.push(key, value);
        }
        Ok(())
    }

    fn end(self) -> Result<()> {
        Ok(())
    }
}

/// The outer value as a map, with the key waiting for its value.
struct TopMap<'a> {
    top: Top<'a>,
    key: Option<String>,
}

impl ser::SerializeMap for TopMap<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(KeyName)?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error("a map value without a key".into()))?;
        if let Some(value) = (Field { lua: self.top.lua }).put(value)? {
            self.top.out.push(key, value);
        }
        Ok(())
    }

    fn end(self) -> Result<()> {
        Ok(())
    }
}

impl<'a> ser::Serializer for Field<'a> {
    type Ok = Option<Value>;
    type Error = Error;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Items<'a>;
    type SerializeTupleStruct = Impossible<Option<Value>, Error>;
    type SerializeTupleVariant = Impossible<Option<Value>, Error>;
    type SerializeMap = Skip;
    type SerializeStruct = Skip;
    type SerializeStructVariant = Impossible<Option<Value>, Error>;

    fn serialize_bool(self, v: bool) -> Result<Option<Value>> {
        Ok(Some(Value::Boolean(v)))
    }
    fn serialize_i8(self, v: i8) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<Option<Value>> {
        Ok(Some(Value::Integer(v)))
    }
    fn serialize_u8(self, v: u8) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<Option<Value>> {
        self.serialize_i64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<Option<Value>> {
        Ok(Some(match i64::try_from(v) {
            Ok(i) => Value::Integer(i),
            Err(_) => Value::Number(v as f64),
        }))
    }
    fn serialize_f32(self, v: f32) -> Result<Option<Value>> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Option<Value>> {
        Ok(Some(Value::Number(v)))
    }
    fn serialize_char(self, v: char) -> Result<Option<Value>> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Option<Value>> {
        Ok(Some(Value::String(self.lua.create_string(v)?)))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Option<Value>> {
        Ok(Some(Value::String(self.lua.create_string(v)?)))
    }
    fn serialize_none(self) -> Result<Option<Value>> {
        Ok(Some(Value::Nil))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Option<Value>> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Option<Value>> {
        Ok(Some(Value::Nil))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Option<Value>> {
        Ok(Some(Value::Nil))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Option<Value>> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Option<Value>> {
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items<'a>> {
        Ok(Items {
            field: self,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items<'a>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Skip> {
        Ok(Skip)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Skip> {
        Ok(Skip)
    }
    refuse_variants!(Option<Value>);
}

impl ser::SerializeSeq for Items<'_> {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        if let Some(value) = self.field.put(value)? {
            self.items.push(value);
        }
        Ok(())
    }

    fn end(self) -> Result<Option<Value>> {
        let table = self.field.lua.create_sequence_from(self.items)?;
        Ok(Some(Value::Table(table)))
    }
}

impl ser::SerializeTuple for Items<'_> {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Option<Value>> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStruct for Skip {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, _: &'static str, _: &T) -> Result<()> {
        Ok(())
    }

    fn end(self) -> Result<Option<Value>> {
        Ok(None)
    }
}

impl ser::SerializeMap for Skip {
    type Ok = Option<Value>;
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<()> {
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<()> {
        Ok(())
    }

    fn end(self) -> Result<Option<Value>> {
        Ok(None)
    }
}

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<String> {
        Ok(v.to_owned())
    }

    refuse_sequences!();
    refuse_variants!(String);
    refuse_scalars!(String);
    refuse_generic!(String);
}
