/* A C __init__, class constructor, deallocator and field reader for frozen slotted dataclasses (see
 * matching/frozen.py), and two dict operations for the compiled book (dict_set_item, dict_del_item).
 *
 * A frozen dataclass's own __init__ stores each field through object.__setattr__, and the Python
 * fallback in frozen.py through each slot's descriptor: a call per field either way, most of the
 * cost of building an event. This one stores the arguments straight into the slots, whose offsets
 * it reads once from the class's member descriptors. It binds arguments as the dataclass __init__
 * does: positional (kw_only fields excluded), then keywords by name, then defaults and default
 * factories; and it raises the same TypeErrors.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#define SPARE_INSTANCES 64

typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;      /* the dataclass: instances are checked against it */
    PyObject *names;        /* tuple of str: the fields, in __init__ order */
    PyObject *defaults;     /* tuple: each field's default, or `required` */
    PyObject *factories;    /* tuple: each field's default_factory, or None */
    PyObject *required;     /* the sentinel that marks a field without a default */
    PyObject *dict;         /* __qualname__, __doc__, __signature__, set from Python */
    Py_ssize_t *offsets;    /* where each field's slot lies in an instance */
    Py_ssize_t count;
    Py_ssize_t positional;  /* the first `positional` fields may be given by position; the rest are kw_only */
    int offsets_cover_slots;  /* the fields are every object slot of cls and its bases: slot_dealloc clears by offsets */
    vectorcallfunc vectorcall;
    /* Instances of cls freed lately (by slot_dealloc), kept to be built again (by slot_construct): their
       slots released, untracked by the collector, each still holding its reference to cls. A command's
       events are built and freed together, so a few dozen per class spare most of the allocator's and
       the collector's work. */
    int spare_count;
    PyObject *spare[SPARE_INSTANCES];
} SlotInit;

typedef struct {
    PyTypeObject *slot_init;    /* SlotInit */
    PyTypeObject *slot_reader;  /* SlotReader */
} ModuleState;

static int slot_offsets(PyTypeObject *cls, PyObject *names, PyObject *descriptors, Py_ssize_t *offsets);

static int
bind_keyword(SlotInit *init, PyObject **values, PyObject *name, PyObject *value)
{
    Py_ssize_t i;
    for (i = 0; i < init->count; i++) {  /* interned names: identity nearly always matches */
        if (PyTuple_GET_ITEM(init->names, i) == name) {
            break;
        }
    }
    if (i == init->count) {
        for (i = 0; i < init->count; i++) {
            int equal = PyUnicode_Compare(PyTuple_GET_ITEM(init->names, i), name) == 0;
            if (equal) {
                break;
            }
            if (PyErr_Occurred()) {
                return -1;
            }
        }
    }
    if (i == init->count) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() got an unexpected keyword argument '%S'",
                     init->cls->tp_name, name);
        return -1;
    }
    if (values[i] != NULL) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() got multiple values for argument '%S'",
                     init->cls->tp_name, name);
        return -1;
    }
    values[i] = value;
    return 0;
}

/* Binds `given` positional arguments and the keywords named by kwnames (their values follow the
   positional ones in args) as the dataclass __init__ would, and stores them into self's slots.
   0 on success; -1 with the same TypeError as the dataclass's __init__. */
static int
bind_and_store(SlotInit *init, PyObject *self, PyObject *const *args, Py_ssize_t given, PyObject *kwnames)
{
    Py_ssize_t keywords = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (given > init->positional) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() takes %zd positional arguments but %zd were given",
                     init->cls->tp_name, init->positional + 1, given + 1);
        return -1;
    }
    Py_ssize_t i;
    if (keywords == 0 && given == init->count) {
        /* Every field by position, as the matching core builds its events: store them as they come. */
        for (i = 0; i < given; i++) {
            PyObject **slot = (PyObject **)((char *)self + init->offsets[i]);
            PyObject *old = *slot;
            *slot = Py_NewRef(args[i]);
            Py_XDECREF(old);
        }
        return 0;
    }
    /* values[i]: borrowed from the call or the defaults, except what a default factory made (made[i]) */
    PyObject *small[64];
    PyObject **values = small, **made = small + 32;
    if (init->count > 32) {
        values = PyMem_Calloc(2 * init->count, sizeof(PyObject *));
        if (values == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        made = values + init->count;
    }
    for (i = 0; i < init->count; i++) {
        values[i] = i < given ? args[i] : NULL;
        made[i] = NULL;
    }
    for (i = 0; i < keywords; i++) {
        if (bind_keyword(init, values, PyTuple_GET_ITEM(kwnames, i), args[given + i]) < 0) {
            goto fail;
        }
    }
    for (i = 0; i < init->count; i++) {
        if (values[i] == NULL) {
            PyObject *factory = PyTuple_GET_ITEM(init->factories, i);
            if (factory != Py_None) {
                values[i] = made[i] = PyObject_CallNoArgs(factory);
                if (values[i] == NULL) {
                    goto fail;
                }
                continue;
            }
            PyObject *fallback = PyTuple_GET_ITEM(init->defaults, i);
            if (fallback == init->required) {
                PyErr_Format(PyExc_TypeError, "%s.__init__() missing required argument: '%S'",
                             init->cls->tp_name, PyTuple_GET_ITEM(init->names, i));
                goto fail;
            }
            values[i] = fallback;
        }
    }
    for (i = 0; i < init->count; i++) {
        PyObject **slot = (PyObject **)((char *)self + init->offsets[i]);
        PyObject *old = *slot;
        if (made[i] == NULL) {
            Py_INCREF(values[i]);
        }
        made[i] = NULL;  /* the slot owns it now */
        *slot = values[i];
        Py_XDECREF(old);
    }
    if (values != small) {
        PyMem_Free(values);
    }
    return 0;
fail:
    for (i = 0; i < init->count; i++) {
        Py_XDECREF(made[i]);
    }
    if (values != small) {
        PyMem_Free(values);
    }
    return -1;
}

static PyObject *
slot_init_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SlotInit *init = (SlotInit *)callable;
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    if (given < 1) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() needs the instance", init->cls->tp_name);
        return NULL;
    }
    PyObject *self = args[0];
    if (!PyObject_TypeCheck(self, init->cls)) {
        PyErr_Format(PyExc_TypeError, "%s.__init__() called on a %s", init->cls->tp_name, Py_TYPE(self)->tp_name);
        return NULL;
    }
    if (bind_and_store(init, self, args + 1, given - 1, kwnames) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The SlotInit type and the interned "__init__", for the constructor below (which gets no module). */
static PyTypeObject *slot_init_type = NULL;
static PyObject *init_name = NULL;

/* Each class's __init__ as _PyType_Lookup finds it, for slot_construct and slot_dealloc, which ask for every
   instance. _PyType_Lookup hashes the name and the class's version tag into the interpreter's method cache;
   this compares one entry. An entry holds while the class keeps its version tag: any change to the class or
   its bases (an __init__ assigned, say) takes the tag away, and a tag is never given to two classes, so a
   class freed and another made at the same address cannot match. The __init__ is borrowed from the class's
   dictionary, which holds it as long as the tag stands. */
#define INIT_CACHE_SIZE 64
static struct {
    PyTypeObject *type;
    unsigned int version;
    PyObject *init;
} init_cache[INIT_CACHE_SIZE];

static inline PyObject *
class_init(PyTypeObject *type)
{
    size_t entry = ((uintptr_t)type >> 4) % INIT_CACHE_SIZE;
    if (init_cache[entry].type == type && PyType_HasFeature(type, Py_TPFLAGS_VALID_VERSION_TAG)
            && init_cache[entry].version == type->tp_version_tag) {
        return init_cache[entry].init;
    }
    PyObject *init = _PyType_Lookup(type, init_name);  /* gives the class a version tag when it can */
    if (PyType_HasFeature(type, Py_TPFLAGS_VALID_VERSION_TAG)) {
        init_cache[entry].type = type;
        init_cache[entry].version = type->tp_version_tag;
        init_cache[entry].init = init;
    }
    return init;
}

/* Calling the class the generic way: type.__call__, i.e. __new__ then __init__. */
static PyObject *
generic_construct(PyTypeObject *cls, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t given = PyVectorcall_NARGS(nargsf);
    Py_ssize_t keywords = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *positional = PyTuple_New(given);
    if (positional == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < given; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(positional, i, args[i]);
    }
    PyObject *named = NULL;
    if (keywords) {
        named = PyDict_New();
        if (named == NULL) {
            Py_DECREF(positional);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < keywords; i++) {
            if (PyDict_SetItem(named, PyTuple_GET_ITEM(kwnames, i), args[given + i]) < 0) {
                Py_DECREF(positional);
                Py_DECREF(named);
                return NULL;
            }
        }
    }
    PyObject *made = PyType_Type.tp_call((PyObject *)cls, positional, named);
    Py_DECREF(positional);
    Py_XDECREF(named);
    return made;
}

/* Calling the class itself (the class's tp_vectorcall): allocate and fill the slots in one C call,
   without the argument tuple, the __init__ lookup and the bound call that type.__call__ makes. Only
   while the class's own __init__ is still this module's for it and __new__ is object's; otherwise
   (a subclass, an __init__ or __new__ assigned later, an abstract class) the generic way. */
static PyObject *
slot_construct(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyTypeObject *cls = (PyTypeObject *)callable;
    /* Through the type's method cache (a hit is a few instructions): the __init__ the class call would
       run. A subclass without its own finds its base's, made for another class: the generic way. */
    PyObject *init = class_init(cls);
    if (init == NULL || slot_init_type == NULL || !Py_IS_TYPE(init, slot_init_type)
            || ((SlotInit *)init)->cls != cls || cls->tp_new != PyBaseObject_Type.tp_new
            || PyType_HasFeature(cls, Py_TPFLAGS_IS_ABSTRACT)) {
        return generic_construct(cls, args, nargsf, kwnames);
    }
    /* Held from here: the allocation may collect garbage, and that or a default factory could run code
       that replaces __init__. */
    Py_INCREF(init);
    SlotInit *slot_init = (SlotInit *)init;
    PyObject *self;
    if (slot_init->spare_count > 0) {  /* as tp_alloc leaves it: slots empty, one reference, tracked */
        self = slot_init->spare[--slot_init->spare_count];
        _Py_NewReference(self);
        PyObject_GC_Track(self);
    }
    else {
        self = cls->tp_alloc(cls, 0);
        if (self == NULL) {
            Py_DECREF(init);
            return NULL;
        }
    }
    int bound = bind_and_store((SlotInit *)init, self, args, PyVectorcall_NARGS(nargsf), kwnames);
    Py_DECREF(init);
    if (bound < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return self;
}

static PyObject *
slot_init_get(PyObject *self, PyObject *instance, PyObject *owner)
{
    if (instance == NULL || instance == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, instance);
}

static int
slot_init_traverse(SlotInit *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->names);
    Py_VISIT(self->defaults);
    Py_VISIT(self->factories);
    Py_VISIT(self->required);
    Py_VISIT(self->dict);
    Py_VISIT(Py_TYPE(self));
    for (int i = 0; i < self->spare_count; i++) {
        Py_VISIT(self->cls);  /* each spare instance's reference to its class, held for this object */
    }
    return 0;
}

/* Free the spare instances for good (each drops its reference to the class). */
static void
release_spares(SlotInit *self)
{
    while (self->spare_count > 0) {
        PyObject *spare = self->spare[--self->spare_count];
        PyTypeObject *type = Py_TYPE(spare);
        type->tp_free(spare);
        Py_DECREF(type);
    }
}

static int
slot_init_clear(SlotInit *self)
{
    release_spares(self);
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    Py_CLEAR(self->defaults);
    Py_CLEAR(self->factories);
    Py_CLEAR(self->required);
    Py_CLEAR(self->dict);
    return 0;
}

static void
slot_init_dealloc(SlotInit *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    slot_init_clear(self);
    PyMem_Free(self->offsets);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);  /* instances of a heap type hold a reference to it */
}

static PyObject *
slot_init_repr(SlotInit *self)
{
    return PyUnicode_FromFormat("<slot __init__ of %s>", self->cls->tp_name);
}

static PyMemberDef slot_init_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SlotInit, vectorcall), READONLY},
    {"__dictoffset__", T_PYSSIZET, offsetof(SlotInit, dict), READONLY},
    {NULL},
};

static PyGetSetDef slot_init_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict},
    {NULL},
};

static PyType_Slot slot_init_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, slot_init_get},
    {Py_tp_traverse, slot_init_traverse},
    {Py_tp_clear, slot_init_clear},
    {Py_tp_dealloc, slot_init_dealloc},
    {Py_tp_repr, slot_init_repr},
    {Py_tp_members, slot_init_members},
    {Py_tp_getset, slot_init_getset},
    {0, NULL},
};

static PyType_Spec slot_init_spec = {
    .name = "matching._frozen_init.SlotInit",
    .basicsize = sizeof(SlotInit),
    /* METHOD_DESCRIPTOR: type.__call__ passes the instance as the first argument, with no bound
       method made per call. */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = slot_init_slots,
};

/* Whether offsets[0..count) are exactly the writable object slots of cls and its bases (heap types up to
   object): then slot_dealloc may clear an instance through them instead of walking each class's members. */
static int
offsets_cover_slots(PyTypeObject *cls, const Py_ssize_t *offsets, Py_ssize_t count)
{
    Py_ssize_t slots = 0;
    for (PyTypeObject *t = cls; t != &PyBaseObject_Type; t = t->tp_base) {
        if (t == NULL || !PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE)) {
            return 0;
        }
        PyMemberDef *member = t->tp_members;
        for (Py_ssize_t i = 0; i < Py_SIZE(t); i++, member++) {
            if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
                continue;
            }
            Py_ssize_t j = 0;
            while (j < count && offsets[j] != member->offset) {
                j++;
            }
            if (j == count) {
                return 0;
            }
            slots++;
        }
    }
    return slots == count;
}

static PyObject *
slot_initializer(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *names, *defaults, *factories, *required, *descriptors;
    Py_ssize_t positional;
    if (!PyArg_ParseTuple(args, "O!O!O!O!OO!n:slot_initializer", &PyType_Type, &cls, &PyTuple_Type, &names,
                          &PyTuple_Type, &defaults, &PyTuple_Type, &factories, &required, &PyTuple_Type,
                          &descriptors, &positional)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(defaults) != count || PyTuple_GET_SIZE(factories) != count
            || PyTuple_GET_SIZE(descriptors) != count || positional < 0 || positional > count) {
        PyErr_SetString(PyExc_ValueError, "names, defaults, factories and descriptors must have the same length, "
                                          "and positional be at most that");
        return NULL;
    }
    Py_ssize_t *offsets = PyMem_Malloc((count ? count : 1) * sizeof(Py_ssize_t));
    if (offsets == NULL) {
        return PyErr_NoMemory();
    }
    if (slot_offsets(cls, names, descriptors, offsets) < 0) {
        goto fail;
    }
    PyTypeObject *type = ((ModuleState *)PyModule_GetState(module))->slot_init;
    if (type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "matching._frozen_init is not initialised");
        goto fail;
    }
    SlotInit *init = PyObject_GC_New(SlotInit, type);
    if (init == NULL) {
        goto fail;
    }
    Py_INCREF(cls);
    Py_INCREF(names);
    Py_INCREF(defaults);
    Py_INCREF(factories);
    Py_INCREF(required);
    init->cls = cls;
    init->names = names;
    init->defaults = defaults;
    init->factories = factories;
    init->required = required;
    init->dict = NULL;
    init->offsets = offsets;
    init->count = count;
    init->positional = positional;
    init->offsets_cover_slots = offsets_cover_slots(cls, offsets, count);
    init->vectorcall = slot_init_call;
    init->spare_count = 0;
    PyObject_GC_Track(init);
    return (PyObject *)init;
fail:
    PyMem_Free(offsets);
    return NULL;
}


/* A reader of several slots at once: reader(instance) -> the tuple of their values, in the order
   named. Compiled code reading a dataclass's fields one by one pays a generic attribute lookup for
   each (the type's method cache, the member descriptor, its type check): about 130 machine
   instructions a field, against a few here. */
typedef struct {
    PyObject_HEAD
    PyTypeObject *cls;
    PyObject *names;        /* tuple of str, for the error when a slot is empty */
    Py_ssize_t *offsets;
    Py_ssize_t count;
    vectorcallfunc vectorcall;
} SlotReader;

static PyObject *
slot_reader_call(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    SlotReader *reader = (SlotReader *)callable;
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "a slot reader takes exactly one instance");
        return NULL;
    }
    PyObject *instance = args[0];
    if (!PyObject_TypeCheck(instance, reader->cls)) {
        PyErr_Format(PyExc_TypeError, "this reader reads %s instances, not %s", reader->cls->tp_name,
                     Py_TYPE(instance)->tp_name);
        return NULL;
    }
    PyObject *values = PyTuple_New(reader->count);
    if (values == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < reader->count; i++) {
        PyObject *value = *(PyObject **)((char *)instance + reader->offsets[i]);
        if (value == NULL) {
            PyErr_Format(PyExc_AttributeError, "'%s' object has no attribute '%S'", Py_TYPE(instance)->tp_name,
                         PyTuple_GET_ITEM(reader->names, i));
            Py_DECREF(values);
            return NULL;
        }
        PyTuple_SET_ITEM(values, i, Py_NewRef(value));
    }
    return values;
}

static int
slot_reader_traverse(SlotReader *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->names);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int
slot_reader_clear(SlotReader *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->names);
    return 0;
}

static void
slot_reader_dealloc(SlotReader *self)
{
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    slot_reader_clear(self);
    PyMem_Free(self->offsets);
    type->tp_free((PyObject *)self);
    Py_DECREF(type);
}

static PyObject *
slot_reader_repr(SlotReader *self)
{
    return PyUnicode_FromFormat("<slot reader of %s%R>", self->cls->tp_name, self->names);
}

static PyMemberDef slot_reader_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(SlotReader, vectorcall), READONLY},
    {"names", T_OBJECT, offsetof(SlotReader, names), READONLY},
    {NULL},
};

static PyType_Slot slot_reader_slots[] = {
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_traverse, slot_reader_traverse},
    {Py_tp_clear, slot_reader_clear},
    {Py_tp_dealloc, slot_reader_dealloc},
    {Py_tp_repr, slot_reader_repr},
    {Py_tp_members, slot_reader_members},
    {0, NULL},
};

static PyType_Spec slot_reader_spec = {
    .name = "matching._frozen_init.SlotReader",
    .basicsize = sizeof(SlotReader),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
             | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = slot_reader_slots,
};

/* Each descriptor must be an object slot (T_OBJECT_EX member) that instances of cls have; its offset
   goes to offsets[i]. -1 with a TypeError naming the field otherwise. */
static int
slot_offsets(PyTypeObject *cls, PyObject *names, PyObject *descriptors, Py_ssize_t *offsets)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *descriptor = PyTuple_GET_ITEM(descriptors, i);
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "field names must be str");
            return -1;
        }
        if (!Py_IS_TYPE(descriptor, &PyMemberDescr_Type)
                || ((PyMemberDescrObject *)descriptor)->d_member->type != T_OBJECT_EX
                || !PyType_IsSubtype(cls, PyDescr_TYPE(descriptor))) {
            PyErr_Format(PyExc_TypeError, "%s.%S is not a slot of the class", cls->tp_name, name);
            return -1;
        }
        offsets[i] = ((PyMemberDescrObject *)descriptor)->d_member->offset;
    }
    return 0;
}

static PyObject *
slot_reader(PyObject *module, PyObject *args)
{
    PyTypeObject *cls;
    PyObject *names, *descriptors;
    if (!PyArg_ParseTuple(args, "O!O!O!:slot_reader", &PyType_Type, &cls, &PyTuple_Type, &names, &PyTuple_Type,
                          &descriptors)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(names);
    if (PyTuple_GET_SIZE(descriptors) != count) {
        PyErr_SetString(PyExc_ValueError, "names and descriptors must have the same length");
        return NULL;
    }
    Py_ssize_t *offsets = PyMem_Malloc((count ? count : 1) * sizeof(Py_ssize_t));
    if (offsets == NULL) {
        return PyErr_NoMemory();
    }
    if (slot_offsets(cls, names, descriptors, offsets) < 0) {
        PyMem_Free(offsets);
        return NULL;
    }
    PyTypeObject *type = ((ModuleState *)PyModule_GetState(module))->slot_reader;
    SlotReader *reader = type == NULL ? NULL : PyObject_GC_New(SlotReader, type);
    if (reader == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_RuntimeError, "matching._frozen_init is not initialised");
        }
        PyMem_Free(offsets);
        return NULL;
    }
    reader->cls = (PyTypeObject *)Py_NewRef(cls);
    reader->names = Py_NewRef(names);
    reader->offsets = offsets;
    reader->count = count;
    reader->vectorcall = slot_reader_call;
    PyObject_GC_Track(reader);
    return (PyObject *)reader;
}

static PyObject *
install_constructor(PyObject *module, PyObject *cls_arg)
{
    if (!PyType_Check(cls_arg)) {
        PyErr_SetString(PyExc_TypeError, "install_constructor() takes a class");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)cls_arg;
    /* The class's tp_vectorcall is used only when its metaclass is exactly `type`, whose instances
       keep their vectorcall in that field; a class defined in C has its own constructor. */
    if (!Py_IS_TYPE(cls, &PyType_Type) || !PyType_HasFeature(cls, Py_TPFLAGS_HEAPTYPE)) {
        Py_RETURN_FALSE;
    }
    cls->tp_vectorcall = slot_construct;
    Py_RETURN_TRUE;
}

/* The deallocator every class statement gives its instances (typeobject.c's subtype_dealloc, which is not
   exported): read from a probe class when the module loads. */
static destructor generic_dealloc = NULL;

/* A frozen dataclass instance's deallocator, in place of the generic one for the classes given to
   install_deallocator. The generic one also runs the trashcan, looks for finalizers, weak references
   and a __dict__, and walks the class chain twice, none of which these classes need (checked when
   installed): about a third of an event's cost again after it has been built. This one releases
   the slots of the class and its bases, then frees the instance. An instance of a subclass made later
   (its own deallocator the generic one) arrives here after the generic one has released the
   subclass's own slots, as the "base deallocator" it calls. */
static void
slot_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    if (type->tp_dealloc == slot_dealloc && type->tp_finalize != NULL) {
        /* a __del__ assigned after installing: run it, as the generic deallocator would */
        if (PyObject_CallFinalizerFromDealloc(self) < 0) {
            return;  /* resurrected */
        }
    }
    PyObject_GC_UnTrack(self);
    PyTypeObject *owner = type;
    while (owner->tp_dealloc != slot_dealloc) {  /* a subclass's: its slots are released already */
        owner = owner->tp_base;
    }
    /* The class's own C __init__, when it has one: its field offsets are the slots to release (when they are
       all of them), and it keeps the instance for the class's next one. Held while the slots are released,
       which can run any code, even code that replaces __init__. */
    SlotInit *init = NULL;
    if (owner == type && type->tp_finalize == NULL && slot_init_type != NULL) {
        PyObject *found = class_init(type);
        if (found != NULL && Py_IS_TYPE(found, slot_init_type) && ((SlotInit *)found)->cls == type) {
            init = (SlotInit *)found;
            Py_INCREF(init);
        }
    }
    if (init != NULL && init->offsets_cover_slots) {
        for (Py_ssize_t i = 0; i < init->count; i++) {
            PyObject **slot = (PyObject **)((char *)self + init->offsets[i]);
            Py_CLEAR(*slot);
        }
    }
    else {
        for (PyTypeObject *cls = owner; cls != &PyBaseObject_Type; cls = cls->tp_base) {
            PyMemberDef *member = cls->tp_members;
            for (Py_ssize_t i = 0; i < Py_SIZE(cls); i++, member++) {
                if (member->type == T_OBJECT_EX && !(member->flags & READONLY)) {
                    PyObject **slot = (PyObject **)((char *)self + member->offset);
                    Py_CLEAR(*slot);
                }
            }
        }
    }
    if (init != NULL) {
        /* Kept for the class's next instance (the constructor takes spares only from the class's __init__ of
           the moment; an __init__ replaced meanwhile keeps it until it is freed itself). Then the reference
           to the class stays with the instance. */
        int kept = init->cls == type && init->spare_count < SPARE_INSTANCES;
        if (kept) {
            init->spare[init->spare_count++] = self;
        }
        Py_DECREF(init);
        if (kept) {
            return;
        }
    }
    type->tp_free(self);
    Py_DECREF(type);  /* an instance of a heap type holds a reference to it */
}

/* Whether slot_dealloc may replace cls's deallocator: cls and each base up to object made by a class
   statement (metaclass `type`), with the generic deallocator (or this one), no finalizer, no __dict__,
   no weak references and no variable size. */
static int
deallocator_fits(PyTypeObject *cls)
{
    if (generic_dealloc == NULL || (cls->tp_dealloc != generic_dealloc && cls->tp_dealloc != slot_dealloc)) {
        return 0;
    }
    for (PyTypeObject *t = cls; t != &PyBaseObject_Type; t = t->tp_base) {
        if (t == NULL || !Py_IS_TYPE(t, &PyType_Type) || !PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE)
                || !PyType_HasFeature(t, Py_TPFLAGS_HAVE_GC)
                || (t->tp_dealloc != generic_dealloc && t->tp_dealloc != slot_dealloc)
                || t->tp_finalize != NULL || t->tp_del != NULL || t->tp_dictoffset != 0
                || t->tp_weaklistoffset != 0 || t->tp_itemsize != 0 || t->tp_free != PyObject_GC_Del) {
            return 0;
        }
    }
    return 1;
}

static PyObject *
install_deallocator(PyObject *module, PyObject *cls_arg)
{
    if (!PyType_Check(cls_arg)) {
        PyErr_SetString(PyExc_TypeError, "install_deallocator() takes a class");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)cls_arg;
    if (!deallocator_fits(cls)) {
        Py_RETURN_FALSE;
    }
    cls->tp_dealloc = slot_dealloc;
    Py_RETURN_TRUE;
}

/* dict_set_item(d, key, value) and dict_del_item(d, key): PyDict_SetItem / PyDict_DelItem on a dict or
   a dict subclass, past the subclass's own __setitem__ / __delitem__. The compiled book keeps a
   SortedDict's dict and its sorted key list in step itself (matching/book.py: add_level, drop_level);
   from Python, dict.__setitem__(d, ...) looks the method up on `dict` and calls it through a slot
   wrapper with an argument tuple, some 1,600 instructions. */
static PyObject *
dict_set_item(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "dict_set_item(d, key, value) takes a dict and two more arguments");
        return NULL;
    }
    if (PyDict_SetItem(args[0], args[1], args[2]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
dict_del_item(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyDict_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "dict_del_item(d, key) takes a dict and a key");
        return NULL;
    }
    if (PyDict_DelItem(args[0], args[1]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
spare_instances(PyObject *module, PyObject *cls_arg)
{
    if (!PyType_Check(cls_arg)) {
        PyErr_SetString(PyExc_TypeError, "spare_instances() takes a class");
        return NULL;
    }
    PyObject *init = _PyType_Lookup((PyTypeObject *)cls_arg, init_name);
    if (init == NULL || slot_init_type == NULL || !Py_IS_TYPE(init, slot_init_type)
            || ((SlotInit *)init)->cls != (PyTypeObject *)cls_arg) {
        return PyLong_FromLong(0);
    }
    return PyLong_FromLong(((SlotInit *)init)->spare_count);
}

static PyMethodDef module_methods[] = {
    {"spare_instances", spare_instances, METH_O,
     "spare_instances(cls) -> int: how many freed instances of cls are kept to build its next ones (each "
     "holds a reference to cls)."},
    {"dict_set_item", (PyCFunction)(void (*)(void))dict_set_item, METH_FASTCALL,
     "dict_set_item(d, key, value): dict.__setitem__(d, key, value) for a dict or a dict subclass, in one C call."},
    {"dict_del_item", (PyCFunction)(void (*)(void))dict_del_item, METH_FASTCALL,
     "dict_del_item(d, key): dict.__delitem__(d, key) for a dict or a dict subclass, in one C call (KeyError "
     "when the key is missing)."},
    {"slot_reader", slot_reader, METH_VARARGS,
     "slot_reader(cls, names, descriptors) -> a callable that, given an instance of cls, returns the tuple of "
     "the values of the slots named (each descriptor the slot's member descriptor)."},
    {"install_constructor", install_constructor, METH_O,
     "install_constructor(cls) -> bool: calling cls builds its instances in C while cls.__init__ is the "
     "slot_initializer made for it (otherwise the generic type call). False, and nothing done, when "
     "cls's metaclass is not `type` or cls is not a heap type."},
    {"install_deallocator", install_deallocator, METH_O,
     "install_deallocator(cls) -> bool: instances of cls are freed by a deallocator that releases their "
     "slots and nothing else. False, and nothing done, unless cls and its bases up to object are classes "
     "made by class statements with slots only: no __dict__, weak references or finalizer."},
    {"slot_initializer", slot_initializer, METH_VARARGS,
     "slot_initializer(cls, names, defaults, factories, required, descriptors, positional) -> an __init__ "
     "for cls that stores its arguments straight into the slots named by `descriptors`. Fields in "
     "__init__ order; defaults[i] is `required` for a field without a default, factories[i] its "
     "default_factory or None; only the first `positional` fields may be passed by position."},
    {NULL},
};

static int
module_exec(PyObject *module)
{
    PyObject *type = PyType_FromModuleAndSpec(module, &slot_init_spec, NULL);
    if (type == NULL) {
        return -1;
    }
    ModuleState *state = PyModule_GetState(module);
    state->slot_init = (PyTypeObject *)type;
    PyObject *reader_type = PyType_FromModuleAndSpec(module, &slot_reader_spec, NULL);
    if (reader_type == NULL) {
        return -1;
    }
    state->slot_reader = (PyTypeObject *)reader_type;
    if (PyModule_AddObjectRef(module, "SlotReader", reader_type) < 0) {
        return -1;
    }
    if (init_name == NULL) {
        init_name = PyUnicode_InternFromString("__init__");
        if (init_name == NULL) {
            return -1;
        }
    }
    /* The constructor checks __init__ against this type. A second module object made from this file
       (a re-import) replaces it: classes made with the first then take the generic way, still right. */
    Py_XSETREF(slot_init_type, (PyTypeObject *)Py_NewRef(type));
    if (generic_dealloc == NULL) {
        PyObject *probe = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O){}", "probe",
                                                (PyObject *)&PyBaseObject_Type);
        if (probe == NULL) {
            return -1;
        }
        generic_dealloc = ((PyTypeObject *)probe)->tp_dealloc;
        Py_DECREF(probe);
    }
    /* matching/frozen.py uses this module only at the version it was written for: an install whose
       compile failed keeps the previous build, which may take other arguments. */
    if (PyModule_AddIntConstant(module, "API_VERSION", 6) < 0) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "SlotInit", type);
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    ModuleState *state = PyModule_GetState(module);
    Py_VISIT(state->slot_init);
    Py_VISIT(state->slot_reader);
    return 0;
}

static int
module_clear(PyObject *module)
{
    ModuleState *state = PyModule_GetState(module);
    Py_CLEAR(state->slot_init);
    Py_CLEAR(state->slot_reader);
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "matching._frozen_init",
    .m_doc = "A C __init__, class constructor, deallocator and field reader for frozen slotted dataclasses "
             "(see matching/frozen.py).",
    .m_size = sizeof(ModuleState),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
};

PyMODINIT_FUNC
PyInit__frozen_init(void)
{
    return PyModuleDef_Init(&module_def);
}
